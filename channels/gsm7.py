"""Making SMS text GSM-7 safe and counting segments.

Why: one character outside the GSM 03.38 alphabet (a curly quote from a template, an emoji)
switches the whole SMS to UCS-2, which cuts a segment from 160 to 70 characters and so can
triple what a citizen's reply costs and how it arrives. We map such characters to close GSM-7
equivalents and drop what has none (emoji), then split long replies into messages of at most
three concatenated segments (153 septets each) on sentence boundaries.
"""
from __future__ import annotations

import re
import unicodedata
from typing import List

from channels.text_split import split_text

# GSM 03.38 basic character set (one septet each).
BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs two septets (escape + character).
EXTENDED = set("^{}\\[~]|€\f")

SINGLE_SEGMENT = 160
MULTI_SEGMENT = 153  # 7 septets of each segment go to the concatenation header
UCS2_SINGLE = 70
UCS2_MULTI = 67

_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'", "´": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "«": '"', "»": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u2022": "-", "\u00b7": "-", "\u2023": "-", "\u25cf": "-",
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ", "\t": " ",
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufe0f": "", "\ufe0e": "",
    "\u00d7": "x", "\u00f7": ":", "\u00b0": " derajat", "\u2192": "->", "\u2190": "<-",
    "\u00ab": '"', "\u00bb": '"', "\u2264": "<=", "\u2265": ">=", "\u00ae": "(R)", "\u00a9": "(C)",
    "\u2122": "TM", "\u00bd": "1/2", "\u00bc": "1/4", "\u00be": "3/4", "\u2116": "No.",
    "\u00b2": "2", "\u00b3": "3", "\u00b9": "1",
}


def _map_char(char: str) -> str:
    if char in BASIC or char in EXTENDED:
        return char
    if char in _REPLACEMENTS:
        return _REPLACEMENTS[char]
    # Accented letters outside GSM-7 (ê, á, ç, ...): keep the base letter.
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(part for part in decomposed if not unicodedata.combining(part))
    if base and all(part in BASIC or part in EXTENDED for part in base):
        return base
    return ""  # emoji, pictographs and other scripts have no GSM-7 form


def to_gsm7(text: str) -> str:
    """The text with every character GSM-7 encodable; spacing left by dropped emoji tidied."""
    mapped = "".join(_map_char(char) for char in text)
    mapped = re.sub(r"[ ]{2,}", " ", mapped)
    mapped = re.sub(r" +\n", "\n", mapped)
    return mapped.strip()


def is_gsm7(text: str) -> bool:
    return all(char in BASIC or char in EXTENDED for char in text)


def septets(text: str) -> int:
    """Length in GSM-7 septets (extension characters count twice)."""
    return sum(2 if char in EXTENDED else 1 for char in text)


def segment_count(text: str) -> int:
    """How many SMS segments the text is sent as (GSM-7 or, if it has to be, UCS-2)."""
    if not text:
        return 1
    if is_gsm7(text):
        length, single, multi = septets(text), SINGLE_SEGMENT, MULTI_SEGMENT
    else:
        # UCS-2 counts UTF-16 code units: an emoji outside the BMP takes two.
        length = len(text.encode("utf-16-le")) // 2
        single, multi = UCS2_SINGLE, UCS2_MULTI
    if length <= single:
        return 1
    return -(-length // multi)


def split_messages(text: str, max_segments: int = 3) -> List[str]:
    """GSM-7 safe messages of at most ``max_segments`` segments each, cut on sentences."""
    budget = SINGLE_SEGMENT if max_segments == 1 else MULTI_SEGMENT * max_segments
    return split_text(to_gsm7(text), budget, measure=septets)
