"""What may reach Rasa as a message's text, decided the same way in the gateway and in Rasa.

Why: Rasa's NLU crashes on a text with no tokens (" " made the intent classifier raise "X has
10651 features, but LogisticRegression is expecting 10652", and "/", "//", "/ " reach it empty
once the typed slash is dropped: issue 13, D4), and reads punctuation or emoji alone ("!!!",
"...", a thumbs-up) as ``affirm`` with 0.35 confidence, above the fallback threshold: at the
read-back that would file a report. Such a text is sent as Rasa's own ``nlu_fallback`` intent,
which the rules answer like any message not understood.

A very long text stalls Rasa's one event loop for every citizen (1 MB: 10-30 s), so a text is
cut at :data:`MAX_TEXT_CHARS`, above every provider's own limit (Telegram and WhatsApp 4096,
Twilio SMS 1600) and far below what is slow to featurize (5000 characters parse in about as long
as a short sentence).
"""
from __future__ import annotations

import re

MAX_TEXT_CHARS = 5000
FALLBACK = "/nlu_fallback"
# Our button payloads and accessibility commands: /intent, /intent{"slot": "value"}.
_COMMAND = re.compile(r"^/[A-Za-z_][A-Za-z0-9_\-]*(\{.*\})?$", re.DOTALL)


def capped(text: str) -> str:
    return text[:MAX_TEXT_CHARS]


def rasa_text(text: str) -> str:
    """The text to give Rasa for ``text``: capped, never a malformed command, never token-less."""
    stripped = capped(text).strip()
    if stripped.startswith("/") and not _COMMAND.match(stripped):
        stripped = stripped.lstrip("/").strip()
    if not any(char.isalnum() for char in stripped):
        return FALLBACK
    return stripped
