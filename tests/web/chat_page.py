"""Driving the web chat page as a citizen would, with Playwright's sync API."""
from __future__ import annotations

from typing import List

LOG = "#percakapan"
INPUT = "#pesan"


def open_chat(page, base_url: str, path: str = "/web/") -> None:
    page.goto(f"{base_url}{path}")
    page.wait_for_function("() => window.sapalapor !== undefined")
    wait_connected(page)


def wait_connected(page) -> None:
    """The socket said ``ready`` (the page sends what it has only then)."""
    page.wait_for_function("() => document.getElementById('status').textContent.indexOf('terputus') < 0")


def texts(page, who: str = "") -> List[str]:
    """The messages in the log, in order; ``who``: "bot" or "me" for one side only."""
    selector = f"{LOG} .msg" + (f".{who}" if who else "")
    return [" ".join(text.split()) for text in page.eval_on_selector_all(selector, "nodes => nodes.map(n => n.innerText)")]


def wait_bot_messages(page, count: int, timeout: float = 120_000) -> List[str]:
    page.wait_for_function(f"() => document.querySelectorAll('{LOG} .msg.bot').length >= {count}", timeout=timeout)
    return texts(page, "bot")


def send(page, text: str) -> int:
    """Type a message and press Enter; returns how many replies the page had before."""
    before = len(texts(page, "bot"))
    page.fill(INPUT, text)
    page.press(INPUT, "Enter")
    return before


def say_and_wait(page, text: str, timeout: float = 120_000) -> str:
    before = send(page, text)
    return wait_bot_messages(page, before + 1, timeout)[-1]


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")
