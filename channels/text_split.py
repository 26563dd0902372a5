"""Cutting a long reply into messages on sentence boundaries.

Why: providers cap one message (Telegram 4096 characters, an SMS three segments by our choice);
cutting mid-sentence makes a reply hard to follow, worst of all for screen-reader users.
A sentence longer than the limit is cut on words, a word longer than that on characters.
"""
from __future__ import annotations

import re
from typing import Callable, List

_SENTENCE = re.compile(r"[^.!?\n]*(?:[.!?]+[\"')\]]*|\n|$)\s*")
_WORD = re.compile(r"\S+\s*")


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> List[str]:
    """Messages of at most ``limit`` (as ``measure`` counts), keeping sentences whole where possible."""
    text = text.strip()
    if not text:
        return []
    if measure(text) <= limit:
        return [text]
    messages: List[str] = []
    current = ""
    for piece in _pieces(text, limit, measure):
        candidate = current + piece if current else piece.lstrip()
        if measure(candidate.rstrip()) <= limit:
            current = candidate
            continue
        if current.strip():
            messages.append(current.strip())
        current = piece.lstrip()
    if current.strip():
        messages.append(current.strip())
    return messages


def _pieces(text: str, limit: int, measure: Callable[[str], int]) -> List[str]:
    pieces: List[str] = []
    for sentence in filter(None, _SENTENCE.findall(text)):
        if measure(sentence.rstrip()) <= limit:
            pieces.append(sentence)
            continue
        for word in _WORD.findall(sentence):
            while measure(word.rstrip()) > limit:
                cut = limit
                while cut > 1 and measure(word[:cut]) > limit:
                    cut -= 1
                pieces.append(word[:cut] + " ")
                word = word[cut:]
            pieces.append(word)
    return pieces
