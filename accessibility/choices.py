"""Picking one of the last buttons shown by saying or typing it.

Why: a blind user on a voice note, or an SMS user, cannot tap a button. They say "dua",
"yang kedua", "nomor 3", "pilihan ketiga", "tiga aja" or the label itself. This module is
pure: it maps such an answer onto the buttons the user was last shown, or says it is not a
choice (then the text goes to the assistant unchanged).
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

# Cardinal and ordinal number words up to twelve (menus never hold more).
_NUMBER_WORDS = {
    "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6,
    "tujuh": 7, "delapan": 8, "sembilan": 9, "sepuluh": 10, "sebelas": 11,
    "dua belas": 12,
}
_ORDINALS = {"pertama": 1, "kesatu": 1, "kesebelas": 11}
_ORDINALS.update({"ke" + word: value for word, value in _NUMBER_WORDS.items() if value > 1 and " " not in word})
_ORDINALS["kedua belas"] = 12

# Words around a number that do not change which option is meant.
_FILLER = {
    "yang", "nomor", "nomer", "no", "pilihan", "pilih", "opsi", "aja", "saja", "deh", "dong",
    "ya", "yah", "nya", "itu", "saya", "aku", "mau", "mohon", "tolong", "the", "angka", "ke",
    "jawab", "jawaban", "oke", "ok", "baik", "sih", "lah",
}
# "nomor" as speech-to-text writes it from synthetic or unclear speech ("nomom", "nomer",
# "nombor"): one letter off still names the option number, and no answer is just that word.
_NUMBER_WORD = "nomor"
_PUNCTUATION = re.compile(r"[^\w\s-]+")
# "ke-2", "ke 2", "ke2"; also "no.3" after punctuation is removed.
_KE_DIGIT = re.compile(r"\bke[-\s]?(\d{1,2})\b")
_LABEL_THRESHOLD = 85


def normalise_answer(text: str) -> str:
    """Lower case, punctuation and extra spaces removed: "Nomor 3." -> "nomor 3"."""
    text = _PUNCTUATION.sub(" ", text.lower())
    return " ".join(text.replace("_", " ").split())


def choice_number(text: str) -> Optional[int]:
    """The option number the answer names, or None when it is not just a number.

    Only answers made of a number plus filler count: "dua" and "yang kedua" do, "dua orang
    terluka" does not, so free answers that happen to contain a number pass through.
    """
    words = normalise_answer(text)
    if not words:
        return None
    words = _KE_DIGIT.sub(lambda match: match.group(1), words)
    tokens = words.replace("-", " ").split()
    found: list[int] = []
    index = 0
    while index < len(tokens):
        pair = " ".join(tokens[index:index + 2])
        if pair in _NUMBER_WORDS or pair in _ORDINALS:
            found.append(_NUMBER_WORDS.get(pair) or _ORDINALS[pair])
            index += 2
            continue
        token = tokens[index]
        if token.isdigit() and len(token) <= 2:
            found.append(int(token))
        elif token in _NUMBER_WORDS:
            found.append(_NUMBER_WORDS[token])
        elif token in _ORDINALS:
            found.append(_ORDINALS[token])
        elif token not in _FILLER and not _sounds_like_nomor(token):
            return None
        index += 1
    if len(found) != 1:
        return None
    return found[0]


def _sounds_like_nomor(token: str) -> bool:
    return len(token) >= 4 and Levenshtein.distance(token, _NUMBER_WORD) <= 1


def select(text: Optional[str], buttons: Sequence[dict]) -> Optional[dict]:
    """The button the answer picks from ``buttons``, or None.

    A number (digits or words, cardinal or ordinal) picks by position; otherwise a label that
    matches closely (typos, case, a missing word) picks that button. An out-of-range number
    picks nothing, so the assistant can answer it.
    """
    if not text or not buttons:
        return None
    number = choice_number(text)
    if number is not None:
        return buttons[number - 1] if 1 <= number <= len(buttons) else None
    answer = normalise_answer(text)
    if not answer:
        return None
    best, best_score = None, 0.0
    for button in buttons:
        label = normalise_answer(str(button.get("title", "")))
        if not label:
            continue
        score = 100.0 if answer == label else fuzz.ratio(answer, label)
        if score > best_score:
            best, best_score = button, score
    return best if best_score >= _LABEL_THRESHOLD else None


def payload_of(button: dict) -> str:
    """What the assistant receives for a button: its payload, or its title if it has none."""
    return str(button.get("payload") or button.get("title") or "")
