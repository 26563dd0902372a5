"""Text as it should be heard: what a voice note says for a written reply.

Why: speech engines read "4821-7730" as "four thousand eight hundred ...", spell "KTP" as a
word, read URLs letter by letter and emoji by their Unicode names. A listener needs a tracking
number digit by digit in groups, dates and amounts in words, abbreviations in full, and options
announced as "Pilihan satu: ...". Pure functions, no engine involved, so the cache key (the
normalised text) is the same whichever engine speaks it.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Optional, Sequence

_DIGITS = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")
MONTHS = (
    "Januari", "Februari", "Maret", "April", "Mei", "Juni",
    "Juli", "Agustus", "September", "Oktober", "November", "Desember",
)
_MONTH_ALIASES = {month.lower(): month for month in MONTHS}
_MONTH_ALIASES.update({month[:3].lower(): month for month in MONTHS})
_MONTH_ALIASES.update({"agu": "Agustus", "agt": "Agustus", "okt": "Oktober", "des": "Desember", "nop": "November"})

# Expanded the way a clerk would say them aloud. "puskesmas" is a word people say: kept.
ABBREVIATIONS = {
    "KTP": "Kartu Tanda Penduduk",
    "e-KTP": "Kartu Tanda Penduduk elektronik",
    "KK": "Kartu Keluarga",
    "RT/RW": "Rukun Tetangga, Rukun Warga",
    "RT": "Rukun Tetangga",
    "RW": "Rukun Warga",
    "BPJS": "Badan Penyelenggara Jaminan Sosial",
    "PDAM": "Perusahaan Daerah Air Minum",
    "PLN": "Perusahaan Listrik Negara",
    "SIM": "Surat Izin Mengemudi",
    "STNK": "Surat Tanda Nomor Kendaraan",
    "NIK": "Nomor Induk Kependudukan",
    "Dukcapil": "Dinas Kependudukan dan Pencatatan Sipil",
    "SP4N-LAPOR!": "Lapor",
    "SP4N-LAPOR": "Lapor",
    "LAPOR!": "Lapor",
    "WIB": "Waktu Indonesia Barat",
    "WITA": "Waktu Indonesia Tengah",
    "WIT": "Waktu Indonesia Timur",
    "dll": "dan lain-lain",
    "dsb": "dan sebagainya",
    "dst": "dan seterusnya",
    "Jl.": "Jalan",
    "Jln.": "Jalan",
    "Kel.": "Kelurahan",
    "Kec.": "Kecamatan",
    "Kab.": "Kabupaten",
    "No.": "Nomor",
    "Prov.": "Provinsi",
    "Tn.": "Tuan",
    "Ny.": "Nyonya",
}
_ABBREVIATION = re.compile(
    "|".join(
        rf"(?<![\w-]){re.escape(short)}" + ("" if short[-1] in ".!" else r"(?![\w-])")
        for short in sorted(ABBREVIATIONS, key=len, reverse=True)
    )
)

_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w.-]+\.(?:go\.id|com|id|org|net)(?:/\S*)?", re.IGNORECASE)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_TRACKING = re.compile(r"(?<![\d-])(\d{4})-(\d{4})(?![\d-])")
_DATE_WORDS = re.compile(r"\b(\d{1,2})\s+([A-Za-z]{3,9})\.?\s+(\d{4})\b")
_DATE_NUMERIC = re.compile(r"\b(\d{1,2})[/-](\d{1,2})[/-](\d{4})\b")
_TIME = re.compile(r"\b(?:(?:pukul|jam)\s+)?([01]?\d|2[0-3])[.:]([0-5]\d)\b", re.IGNORECASE)
_TIME_RANGE = re.compile(r"\b(\d{1,2}[.:]\d{2})\s*[-\u2013]\s*(\d{1,2}[.:]\d{2})\b")
_RT_RW = re.compile(r"\bRT\s*/\s*RW\s*:?\s*(\d{1,3})\s*/\s*(\d{1,3})\b")
_SLASH = re.compile(r"(?<=[A-Za-z])\s*/\s*(?=[A-Za-z])")
_RUPIAH = re.compile(r"\bRp\.?\s?(\d{1,3}(?:\.\d{3})+|\d+)(?:,-|,00)?")
_GROUPED = re.compile(r"\b\d{1,3}(?:\.\d{3})+\b")
_NUMBER = re.compile(r"\b\d+\b")
_OPTION_LINE = re.compile(r"^\s*(\d{1,2})\s*[.)]\s+(.+?)\s*$")
_MARKUP = re.compile(r"[*_`~#>|\[\]{}<>«»“”„\"]")


def number_words(value: int) -> str:
    """An integer in Indonesian words: 12 -> "dua belas", 2026 -> "dua ribu dua puluh enam"."""
    if value < 0:
        return "minus " + number_words(-value)
    if value < 10:
        return _DIGITS[value]
    if value == 10:
        return "sepuluh"
    if value == 11:
        return "sebelas"
    if value < 20:
        return f"{_DIGITS[value - 10]} belas"
    if value < 100:
        tens, rest = divmod(value, 10)
        return f"{_DIGITS[tens]} puluh" + (f" {_DIGITS[rest]}" if rest else "")
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        head = "seratus" if hundreds == 1 else f"{_DIGITS[hundreds]} ratus"
        return head + (f" {number_words(rest)}" if rest else "")
    for size, name in ((10**12, "triliun"), (10**9, "miliar"), (10**6, "juta"), (1000, "ribu")):
        if value >= size:
            head_value, rest = divmod(value, size)
            head = "seribu" if size == 1000 and head_value == 1 else f"{number_words(head_value)} {name}"
            return head + (f" {number_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


def digit_words(digits: str) -> str:
    """Digit by digit: "4821" -> "empat delapan dua satu"."""
    return " ".join(_DIGITS[int(digit)] for digit in digits if digit.isdigit())


def _grouped_digits(digits: str, size: int = 4) -> str:
    groups = [digits[index:index + size] for index in range(0, len(digits), size)]
    return ", ".join(digit_words(group) for group in groups)


def _strip_emoji(text: str) -> str:
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("So", "Cs", "Co") or char in "\u200d\ufe0f\ufe0e\u20e3":
            continue
        kept.append(char)
    return "".join(kept)


def _date(match: re.Match) -> str:
    month = _MONTH_ALIASES.get(match.group(2).lower())
    if month is None:
        return match.group(0)
    return f"{number_words(int(match.group(1)))} {month} {number_words(int(match.group(3)))}"


def _numeric_date(match: re.Match) -> str:
    day, month, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
    if not (1 <= day <= 31 and 1 <= month <= 12):
        return match.group(0)
    return f"{number_words(day)} {MONTHS[month - 1]} {number_words(year)}"


def _time(match: re.Match) -> str:
    hours, minutes = int(match.group(1)), int(match.group(2))
    return f"pukul {number_words(hours)}" + (f" lewat {number_words(minutes)} menit" if minutes else "")


def _number(match: re.Match) -> str:
    digits = match.group(0)
    # Phone numbers, NIK and codes are read digit by digit; amounts and counts as numbers.
    if digits.startswith("0") and len(digits) > 3 or len(digits) > 7:
        return _grouped_digits(digits)
    return number_words(int(digits))


def _options(lines: Iterable[str]) -> list[str]:
    spoken = []
    for line in lines:
        match = _OPTION_LINE.match(line)
        if match:
            spoken.append(f"Pilihan {number_words(int(match.group(1)))}: {match.group(2).rstrip('.')}.")
        else:
            spoken.append(line)
    return spoken


def lists_buttons(text: str, buttons: Sequence[dict]) -> bool:
    """Whether ``text`` already holds the buttons as a numbered list (then they are not read twice)."""
    numbered = {int(match.group(1)) for match in map(_OPTION_LINE.match, text.splitlines()) if match}
    return bool(buttons) and set(range(1, len(buttons) + 1)) <= numbered


def speakable(text: str, buttons: Optional[Sequence[dict]] = None) -> str:
    """``text`` (and its buttons, as "Pilihan satu: ...") ready for a speech engine; "" if nothing to say."""
    buttons = list(buttons or [])
    if buttons and not lists_buttons(text, buttons):
        text = text.rstrip() + "\n" + "\n".join(
            f"{index}. {button.get('title', '')}" for index, button in enumerate(buttons, start=1)
        )
    text = _EMAIL.sub(" ", text)
    text = _URL.sub(" ", text)
    text = _strip_emoji(text)
    lines = _options(text.splitlines())
    text = "\n".join(lines)
    text = _TRACKING.sub(lambda m: f"{digit_words(m.group(1))}, {digit_words(m.group(2))}", text)
    text = _DATE_WORDS.sub(_date, text)
    text = _DATE_NUMERIC.sub(_numeric_date, text)
    text = _RUPIAH.sub(lambda m: f"{number_words(int(m.group(1).replace('.', '')))} rupiah", text)
    text = _TIME_RANGE.sub(r"\1 sampai \2", text)
    text = _TIME.sub(_time, text)
    text = _GROUPED.sub(lambda m: number_words(int(m.group(0).replace(".", ""))), text)
    text = _RT_RW.sub(lambda m: f"Rukun Tetangga {int(m.group(1))}, Rukun Warga {int(m.group(2))}", text)
    text = _ABBREVIATION.sub(lambda m: ABBREVIATIONS[m.group(0)], text)
    text = _SLASH.sub(" atau ", text)
    text = _NUMBER.sub(_number, text)
    text = _MARKUP.sub(" ", text)
    lines = [re.sub(r"\s+([.,!?:;])", r"\1", " ".join(line.split())) for line in text.splitlines()]
    sentences = []
    for line in lines:
        if not line:
            continue
        sentences.append(line if line[-1] in ".!?:," else line + ".")
    return " ".join(sentences).strip()


_SPOKEN_DIGIT = {word: str(index) for index, word in enumerate(_DIGITS)}
_SPOKEN_DIGIT.update({"kosong": "0", "nul": "0", "delapan": "8", "lapan": "8"})
_SPOKEN_RUN = re.compile(
    r"\b(?:%s)(?:[\s,.-]+(?:%s)\b){3,}" % ("|".join(_SPOKEN_DIGIT), "|".join(_SPOKEN_DIGIT)),
    re.IGNORECASE,
)


def spoken_digits(text: str) -> str:
    """Runs of four or more spoken digits become digits: "empat delapan dua satu" -> "4821".

    Why only long runs: a tracking number, phone number or NIK is read digit by digit, while
    "dua minggu" or "tiga orang" are amounts that must stay words in a description.
    """
    def digits(match: re.Match) -> str:
        words = re.split(r"[\s,.-]+", match.group(0))
        return "".join(_SPOKEN_DIGIT[word.lower()] for word in words if word)

    return _SPOKEN_RUN.sub(digits, text)
