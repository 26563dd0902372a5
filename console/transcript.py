"""The conversation so far, for the officer who takes a handover: read from Rasa's store.

Why read Rasa's tracker store: it is the only place the whole dialogue is kept (inbound payloads
are scrubbed once handled). Read-only, and numbers are masked: a tracking number, a PIN or a
phone number typed or shown in the conversation is no business of the person answering, and an
*anonim* report filed in it must not become linkable to this conversation here.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import List

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

_NUMBERS = re.compile(r"\+?\d[\d\s\-.]{2,}\d")
MASK = "•••"


@dataclass(frozen=True)
class Line:
    speaker: str  # "warga" | "asisten"
    text: str


def mask_numbers(text: str) -> str:
    """Every run of four or more digits (tracking numbers, PINs, phone numbers) becomes •••."""
    return _NUMBERS.sub(lambda match: MASK if sum(ch.isdigit() for ch in match.group()) >= 4 else match.group(),
                        text)


class TranscriptReader:
    def __init__(self, tracker_store_url: str) -> None:
        self._engine = create_engine(tracker_store_url, future=True)

    def lines(self, sender_id: str, limit: int = 40) -> List[Line]:
        """The last ``limit`` user and bot messages of the conversation, oldest first."""
        try:
            with self._engine.connect() as connection:
                rows = connection.execute(text(
                    "SELECT type_name, data FROM events WHERE sender_id = :sender AND type_name IN ('user', 'bot') "
                    "ORDER BY id DESC LIMIT :limit"), {"sender": sender_id, "limit": limit}).all()
        except SQLAlchemyError:
            return []  # no conversation store yet (or purged): the inbox still works
        lines = []
        for type_name, data in reversed(rows):
            try:
                said = (json.loads(data) or {}).get("text") or ""
            except (TypeError, ValueError):
                continue
            if said.strip():
                lines.append(Line("warga" if type_name == "user" else "asisten", mask_numbers(said.strip())))
        return lines

    def dispose(self) -> None:
        self._engine.dispose()
