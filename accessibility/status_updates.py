"""The words of a status update, in the form the citizen's profile asks for.

Why here and not in storage: a status update is read (or heard) by the same citizen as the
dialogue, so it follows the same profile (simple language, voice) and the same catalogue
(``accessibility/citizen_text.yml``). Storage says only what changed
(:class:`storage.lifecycle.Notification`); this module says it. Pure functions, no I/O.

The ``selesai`` update also asks the satisfaction question (1-5, answered like the one after
filing; ``accessibility.closing_rating`` takes the answer).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, List, Optional

from shared.citizen_text import catalogue, say

# The office is named with these statuses; the officer's note is told with these.
_NAMES_AGENCY = ("diteruskan", "ditindaklanjuti")
_TELLS_NOTE = ("ditunda", "bukan_wewenang", "diarsipkan", "selesai", "ditindaklanjuti")
CLOSING_STATUS = "selesai"
# The same choices as the question after filing (bot/domain.yml utter_ask_satisfaction).
RATING_BUTTONS = [
    {"title": "1 Sangat tidak puas", "payload": '/affirm{"rating": 1}'},
    {"title": "2 Tidak puas", "payload": '/affirm{"rating": 2}'},
    {"title": "3 Biasa saja", "payload": '/affirm{"rating": 3}'},
    {"title": "4 Puas", "payload": '/affirm{"rating": 4}'},
    {"title": "5 Sangat puas", "payload": '/affirm{"rating": 5}'},
]


def status_update_text(tracking_number: str, status: str, agency: Optional[str] = None, note: Optional[str] = None,
                       response_due: Optional[dt.date] = None, *, simple: bool = False) -> str:
    """What a reporter reads when their report changes status (no question: see closing_question)."""
    key = f"status_update.{status}"
    if key not in catalogue():
        return say("status_update.other", simple, tracking_number=tracking_number, status=status)
    values = {"tracking_number": tracking_number}
    if status in _NAMES_AGENCY:
        values["agency"] = (agency or "").strip() or say("status_update.unnamed_agency", simple)
    parts = [say(key, simple, **values)]
    if status == "diteruskan" and response_due is not None:
        # Imported here: storage.lifecycle loads the holiday calendar, which a text turn never needs.
        from storage.lifecycle import format_date

        parts.append(say("status_update.response_due", simple, date=format_date(response_due)))
    if note and note.strip() and status in _TELLS_NOTE:
        parts.append(say("status_update.officer_note", simple, note=note.strip()))
    return ("\n" if simple else " ").join(parts)


def text_of(notification: Any, *, simple: bool = False) -> str:
    """:func:`status_update_text` of a :class:`storage.lifecycle.Notification`."""
    return status_update_text(notification.tracking_number, notification.status, notification.agency,
                              notification.note, notification.response_due, simple=simple)


def asks_closing_rating(status: str) -> bool:
    return status == CLOSING_STATUS


def closing_question(simple: bool) -> dict:
    """The satisfaction question as a bot message (text, buttons, what it expects)."""
    return {"text": say("closing_rating.question", simple), "buttons": [dict(button) for button in RATING_BUTTONS],
            "expects": "rating"}


def messages_for(notification: Any, *, simple: bool) -> List[dict]:
    """The status update as bot messages, ready for the layer to render like any reply."""
    messages = [{"text": text_of(notification, simple=simple)}]
    if asks_closing_rating(notification.status):
        messages.append(closing_question(simple))
    return messages
