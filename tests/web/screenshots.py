"""The README's screenshots of the web chat, taken with the browser harness on the real stack.

``.venv/bin/python -m tests.web.screenshots`` writes docs/webchat/chat.png (a conversation with
numbered choices), phone.png (320 CSS px, large text and high contrast) and kiosk-warning.png.
Same isolated environment as the tests (tests/conftest.py), so no developer data is touched.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import tests.conftest  # noqa: F401 - the isolated test environment and the network guard
from bot.rasa_project import ensure_model
from tests.channels.e2e_support import channel_stack
from tests.support.browser import chromium_browser
from tests.web.chat_page import open_chat, say_and_wait
from tests.web.conftest import EVENT, KIOSK_ENV, add_event
from tests.web.filing import STORY

OUT = Path(__file__).resolve().parents[2] / "docs" / "webchat"


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sapalapor-shots-") as runtime, \
            channel_stack(ensure_model(), Path(runtime), extra_env=KIOSK_ENV) as stack, \
            chromium_browser() as browser:
        add_event(stack["database"])
        context = browser.new_context(locale="id-ID", viewport={"width": 900, "height": 1000})
        page = context.new_page()
        open_chat(page, stack["url"])
        say_and_wait(page, STORY)
        page.screenshot(path=str(OUT / "chat.png"), full_page=True)
        context.close()

        context = browser.new_context(locale="id-ID", viewport={"width": 320, "height": 700}, device_scale_factor=2)
        page = context.new_page()
        open_chat(page, stack["url"])
        page.click("#huruf-besar")
        page.click("#kontras")
        say_and_wait(page, "halo")
        page.screenshot(path=str(OUT / "phone.png"), full_page=True)
        context.close()

        context = browser.new_context(locale="id-ID", viewport={"width": 900, "height": 800})
        page = context.new_page()
        open_chat(page, stack["url"], f"/web/kiosk/{EVENT}")
        say_and_wait(page, "halo")
        page.wait_for_selector("#peringatan", state="visible", timeout=20_000)
        page.screenshot(path=str(OUT / "kiosk-warning.png"))
        context.close()
    print(f"screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
