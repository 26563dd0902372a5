from __future__ import annotations

import re
from pathlib import Path

import pytest

from accessibility.simple_language import check_simple
from channels.web_pages import KIOSK_WARNING, PAGE_DIR, UNKNOWN_EVENT


def page_script_texts() -> list:
    """The sentences chat.js shows or announces (its TEXT table)."""
    script = (PAGE_DIR / "static" / "chat.js").read_text(encoding="utf-8")
    table = re.search(r"var TEXT = \{(.*?)\};", script, re.S).group(1)
    return [text for text in re.findall(r'"([^"]*)"', table) if " " in text]


@pytest.mark.parametrize("text", [KIOSK_WARNING, UNKNOWN_EVENT, *page_script_texts()])
def test_what_the_page_says_on_its_own_is_simple_language(text):
    assert check_simple(text, has_buttons=False) == []


def test_every_sentence_of_the_page_script_is_among_those_checked():
    assert len(page_script_texts()) >= 10 and isinstance(PAGE_DIR, Path)
