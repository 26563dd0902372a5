"""The whole path of a handover, for real: Telegram (fake API) -> gateway -> Rasa -> actions ->
storage -> the console in Chromium -> storage -> gateway -> Telegram, and back to the assistant."""
from __future__ import annotations

import time

from tests.channels.e2e_support import TelegramUser, channel_stack, tracker
from tests.console.support import make_account, running_console
from tests.console.test_in_a_browser import sign_in
from tests.support.browser import describe_focused


def wait_for_reply(user: TelegramUser, words: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for text in user.replies():
            if words in text:
                return text
        time.sleep(0.3)
    raise AssertionError(f"the citizen never received {words!r}; got {user.replies()}")


def test_an_officer_answers_a_citizen_who_asked_for_a_person_in_the_citizens_chat_and_hands_back(
        trained_model, tmp_path, console_page):
    page = console_page
    with channel_stack(trained_model, tmp_path) as stack:
        user = TelegramUser(stack, chat_id=880011)
        user.say("petugas")
        wait_for_reply(user, "petugas")
        with running_console(tmp_path / "data") as (url, database):
            make_account(database, "ani", "operator")
            sign_in(page, url, "ani")
            page.goto(f"{url}/petugas")
            page.get_by_role("link", name="Percakapan #").first.click()
            page.get_by_role("button", name="Layani warga ini").click()
            wait_for_reply(user, "Anda sekarang dilayani oleh petugas kami, Ani")

            # By keyboard alone: the reply box, Tab to "Kirim balasan", Enter.
            page.get_by_label("Balasan untuk warga").focus()
            page.keyboard.type("Selamat siang, saya Ani. Ada yang bisa saya bantu?")
            page.keyboard.press("Tab")
            assert describe_focused(page) == "button Kirim balasan"
            page.keyboard.press("Enter")
            wait_for_reply(user, "Selamat siang, saya Ani. Ada yang bisa saya bantu?")

            user.say("Laporan jalan rusak saya belum ada kabar")
            page.get_by_role("log").get_by_text("Laporan jalan rusak saya belum ada kabar").wait_for(timeout=20_000)
            said_to_rasa = [event.get("text") for event in tracker(stack, user.sender)["events"]
                            if event.get("event") == "user"]
            assert "Laporan jalan rusak saya belum ada kabar" not in said_to_rasa

            page.get_by_label("Balasan untuk warga").focus()
            page.keyboard.press("Tab")
            page.keyboard.press("Tab")
            assert describe_focused(page) == "button Kembalikan ke asisten"
            page.keyboard.press("Enter")
            wait_for_reply(user, "Anda kembali dilayani asisten SapaLapor")
            before = len(user.replies())
            user.say("bantuan")
            assert len(user.replies()) > before  # the assistant answers again
