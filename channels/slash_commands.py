"""What a user types is text, never a Rasa command.

Why: Rasa reads any message starting with "/" as an intent with entities, so a typed
'/affirm{"privacy": "anonim"}' would set slots directly and skip the dialogue's checks. Only our
own button payloads and the accessibility commands (/suara, /teks, ...) may start with "/";
any other typed slash is dropped, so "/halo" reaches the NLU as "halo".
"""
from __future__ import annotations

from typing import Optional

from accessibility.pipeline import command_of


def strip_slash_command(text: Optional[str]) -> Optional[str]:
    if not text or not text.lstrip().startswith("/") or command_of(text):
        return text
    stripped = text.lstrip().lstrip("/").strip()
    return stripped or None
