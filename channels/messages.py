"""What the channels themselves say to a citizen, each with its simple-language variant.

The words live in accessibility/citizen_text.yml (the one catalogue outside the Rasa domain);
this module gives the channel layer's entries their names.

Why one catalogue: the dialogue's words live in the Rasa domain; what the channel layer says
on its own (a delay, a failure) lives here, so every entry has its simple variant next to it and
one test (tests/channels/test_messages.py) checks them all with the simple-language rules.
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.citizen_text import entry


@dataclass(frozen=True)
class Message:
    regular: str
    simple: str

    def text(self, simple_language: bool) -> str:
        return self.simple if simple_language else self.regular


def from_catalogue(key: str) -> Message:
    """An entry of the one catalogue of citizen text (accessibility/citizen_text.yml)."""
    found = entry(key)
    return Message(regular=found.regular, simple=found.simple)


# The turn could not be completed (the assistant's servers failing); the message is kept and
# tried again, and answered then.
KEPT_FOR_LATER = from_catalogue("channel.kept_for_later")

CATALOGUE = {"kept_for_later": KEPT_FOR_LATER}
