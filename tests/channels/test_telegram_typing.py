import asyncio

from channels.telegram_send import showing


class SlowSender:
    def __init__(self):
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.finished = 0
        self.cancelled = 0

    async def action(self, chat_id, action):
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        self.finished += 1


async def test_a_turn_that_ends_during_a_typing_call_goes_on_without_cancelling_the_call():
    sender = SlowSender()
    async with showing(sender, 42, "typing"):
        await sender.started.wait()
    sender.release.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert (sender.finished, sender.cancelled) == (1, 0)


async def test_a_quick_turn_sends_no_typing_and_the_loop_ends():
    sender = SlowSender()
    async with showing(sender, 42, "typing", after=0.5):
        pass
    await asyncio.sleep(0.6)
    assert not sender.started.is_set()
