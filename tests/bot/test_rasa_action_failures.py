import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_patches
from bot.rasa_project import free_port
from tests.support.http import loopback_route


async def rasa_like_run_action(self, action, tracker, output_channel, nlg, prediction):
    """What Rasa 3.6's MessageProcessor._run_action does with a failing action: logs, carries on."""
    try:
        return await action.run(output_channel, nlg, tracker, Domain.empty())
    except ActionExecutionRejection:
        return "rejected"
    except Exception:  # "Bot will continue, but the actions events are lost."
        return "lost"


def tracker():
    return DialogueStateTracker.from_events("telegram-" + "0" * 64, [])


async def test_a_failed_action_call_fails_the_turn_instead_of_losing_its_events(monkeypatch):
    monkeypatch.setattr(rasa_patches, "ACTION_RETRY_SECONDS", 0.01)
    action = RemoteAction("action_submit_report", EndpointConfig(url=f"http://127.0.0.1:{free_port()}/webhook"))
    run_action = rasa_patches.make_run_action(rasa_like_run_action)

    assert await rasa_like_run_action(None, action, tracker(), None, None, None) == "lost"
    with pytest.raises(rasa_patches.ActionServerFailed, match="action_submit_report"):
        await run_action(None, action, tracker(), None, None, None)
    assert "run" not in vars(action)  # the instance is left as it was


async def test_an_action_call_that_never_reached_the_server_is_tried_again(monkeypatch):
    from aiohttp import web

    monkeypatch.setattr(rasa_patches, "ACTION_RETRY_SECONDS", 0.01)
    port = free_port()
    action = RemoteAction("action_submit_report", EndpointConfig(url=f"http://127.0.0.1:{port}/webhook"))
    calls = []
    original_run = RemoteAction.run

    async def run_then_start_server(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            return await original_run(self, *args, **kwargs)  # refused: nothing listens yet
        return []

    monkeypatch.setattr(RemoteAction, "run", run_then_start_server)
    run_action = rasa_patches.make_run_action(rasa_like_run_action)

    assert await run_action(None, action, tracker(), None, None, None) == []
    assert len(calls) == 2


async def test_an_action_answering_500_is_not_run_twice(monkeypatch):
    from aiohttp import web

    monkeypatch.setattr(rasa_patches, "ACTION_RETRY_SECONDS", 0.01)
    hits = []

    async def webhook(request):
        hits.append(1)
        return web.json_response({"error": "boom"}, status=500)

    async with loopback_route("POST", "/webhook", webhook) as base:
        action = RemoteAction("action_submit_report", EndpointConfig(url=f"{base}/webhook"))
        with pytest.raises(rasa_patches.ActionServerFailed):
            await rasa_patches.make_run_action(rasa_like_run_action)(None, action, tracker(), None, None, None)
    assert hits == [1]


async def test_a_rejected_action_is_still_rasas_to_handle():
    from aiohttp import web

    async def webhook(request):
        return web.json_response({"action_name": "validate_report_form", "error": "no"}, status=400)

    async with loopback_route("POST", "/webhook", webhook) as base:
        action = RemoteAction("validate_report_form", EndpointConfig(url=f"{base}/webhook"))
        result = await rasa_patches.make_run_action(rasa_like_run_action)(None, action, tracker(), None, None, None)
    assert result == "rejected"


def test_the_patches_refuse_another_rasa_version(monkeypatch):
    import rasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(RuntimeError, match="3.6.21"):
        rasa_patches.apply()
