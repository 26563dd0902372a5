"""Tracking numbers designed to be read aloud and typed on a phone keypad.

Why this shape: digits only (any keypad, any speech engine), two groups of four ("4821-7730") so
a person can hold each half in memory, and a Damm check digit as the last digit. Damm catches
every single-digit error and every adjacent transposition, so a mistyped number is rejected as
invalid instead of showing someone else's report.
"""
from __future__ import annotations

import re
import secrets
from typing import Optional, Protocol

# The Damm operation table (a totally anti-symmetric quasigroup of order 10, Damm 2004).
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)

LENGTH = 8
# Separators people type between the two groups: space, hyphen (ASCII and typographic), dot.
_SHAPE = re.compile(r"^\s*(\d{4})[\s\-\u2010-\u2015.]?(\d{4})\s*$")


class _RandomDigits(Protocol):
    def randrange(self, start: int, stop: int = ...) -> int: ...


def damm_check_digit(digits: str) -> int:
    """The digit that, appended to ``digits``, makes the Damm checksum zero."""
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return interim


def _checksum_holds(digits: str) -> bool:
    return damm_check_digit(digits) == 0


def _format(digits: str) -> str:
    return f"{digits[:4]}-{digits[4:]}"


def new_tracking_number(rng: Optional[_RandomDigits] = None) -> str:
    """A fresh "DDDD-DDDD": 7 random digits (first never 0) plus the check digit.

    ``rng`` (anything with ``randrange``, e.g. ``random.Random(1)``) exists for deterministic
    tests; by default the digits come from :mod:`secrets`, so numbers cannot be guessed in order.
    """
    if rng is not None:
        first = rng.randrange(1, 10)
        rest = "".join(str(rng.randrange(0, 10)) for _ in range(LENGTH - 2))
    else:
        first = 1 + secrets.randbelow(9)
        rest = "".join(str(secrets.randbelow(10)) for _ in range(LENGTH - 2))
    body = f"{first}{rest}"
    return _format(body + str(damm_check_digit(body)))


def normalise(text: Optional[str]) -> Optional[str]:
    """The canonical "4821-7730" for what a person typed, or None when it is not a valid number.

    Accepts "48217730", "4821 7730", "4821-7730", "4821.7730" (spoken forms are turned into
    digits upstream). None also when the check digit fails: a typo must not find another report.
    """
    if not text:
        return None
    match = _SHAPE.match(text)
    if not match:
        return None
    digits = match.group(1) + match.group(2)
    if not _checksum_holds(digits):
        return None
    return _format(digits)


def is_valid(text: Optional[str]) -> bool:
    """True when ``text`` is a tracking number in an accepted shape with a correct check digit."""
    return normalise(text) is not None
