"""Which question the assistant is asking, read from its messages as a person reads them.

Only robust cues are used: a few keywords a question cannot do without ("di mana", "kapan",
"siapa yang boleh melihat", "periksa laporan", "puas") and the options offered (buttons, "Balas N
untuk ..." lines on SMS, or a numbered list in the text). So the simulated citizen keeps working
while the dialogue's wording is rewritten, and an unknown message is reported as ``unknown``
instead of being guessed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

TRACKING_NUMBER = re.compile(r"\b\d{4}-\d{4}\b")
_SMS_OPTION = re.compile(r"Balas\s+(\d+)\s+untuk\s+([^\n.;]+)", re.IGNORECASE)
_LISTED_OPTION = re.compile(r"^\s*(\d)[.)]\s+(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: List[Dict[str, str]] = field(default_factory=list)  # [{"title", "payload"}]


@dataclass(frozen=True)
class Option:
    number: int
    title: str
    payload: Optional[str] = None  # None when the option is only written (SMS, numbered text)


@dataclass(frozen=True)
class Question:
    kind: str
    text: str
    options: List[Option] = field(default_factory=list)

    def option_matching(self, *words: str) -> Optional[Option]:
        for word in words:
            for option in self.options:
                if word.lower() in option.title.lower():
                    return option
        return None


# (kind, pattern): checked in this order on one message; the first that matches wins.
_CUES = [
    ("status", re.compile(r"status laporan \d{4}-\d{4}")),
    ("filed", re.compile(r"nomor laporan( anda)?\W+\d{4}-\d{4}|\d{4}-\d{4}.*(simpan|catat|terima)", re.DOTALL)),
    # Before the rest: a read-back quotes the citizen's own words, which may contain any cue.
    ("readback", re.compile(r"periksa laporan|ini laporan anda|ringkasan laporan|siap dikirim")),
    ("satisfaction", re.compile(r"\bpuas\b")),
    ("cancel_confirm", re.compile(r"(membatalkan|dibatalkan|\bbatalkan\b)[^.\n]*\?")),
    ("nothing_to_cancel", re.compile(r"tidak ada (laporan yang sedang|yang perlu dibatalkan)")),
    ("cancelled", re.compile(r"(laporan|sudah|telah) dibatalkan(?!\s*\?)")),
    ("field", re.compile(r"bagian mana|bagian yang ingin")),
    ("heard", re.compile(r"saya mendengar")),
    ("privacy", re.compile(r"siapa yang boleh melihat|boleh membaca laporan|privasi")),
    ("category", re.compile(r"\btopik\b|tentang apa")),
    ("region_choice", re.compile(r"yang mana|tempat yang mana|beberapa tempat")),
    ("region_name", re.compile(r"(kabupaten|kota) (atau|dan) (kota|kabupaten) mana|belum (mengenali|kenal) tempat")),
    # Before the date: asking for more detail mentions "sejak kapan".
    ("description_more", re.compile(r"ditambah|tambah sedikit|tambahkan|lebih (jelas|lengkap)|detail")),
    ("description", re.compile(r"ceritakan|apa yang terjadi|cerita")),
    ("date_estimate", re.compile(r"perkiraan")),
    ("date", re.compile(r"\bkapan\b|tanggal")),
    ("location", re.compile(r"di ?mana\b|nama tempat|tempat kejadian|lokasi")),
    ("report_type", re.compile(r"jenis apa|jenis laporan|termasuk jenis")),
    ("onboarding", re.compile(r"pesan suara.*sederhana|sederhana.*pesan suara", re.DOTALL)),
    ("tracking_number", re.compile(r"nomor laporan(nya| anda)?\s*\?|berapa nomor|nomornya\s*\?")),
    ("pin", re.compile(r"\bpin\b")),
    ("menu", re.compile(r"ada yang bisa saya bantu|pilih salah satu|pilih yang anda perlukan")),
    ("status", re.compile(r"status laporan|tidak ada laporan|belum (punya|ada) laporan|laporan ini belum dikirim"
                          r"|laporan yang lama")),
    ("handover", re.compile(r"\bpetugas\b.*(dicatat|membalas)", re.DOTALL)),
]


def lists_numbers(text: str) -> bool:
    """Whether the text itself shows numbered choices (so typing a digit is what it invites)."""
    return bool(_LISTED_OPTION.search(text) or _SMS_OPTION.search(text))


def options_of(message: BotMessage) -> List[Option]:
    if message.buttons:
        return [Option(index, button.get("title") or "", button.get("payload"))
                for index, button in enumerate(message.buttons, start=1)]
    found = [Option(int(number), title.strip()) for number, title in _SMS_OPTION.findall(message.text)]
    if not found:
        found = [Option(int(number), title.strip()) for number, title in _LISTED_OPTION.findall(message.text)]
    return found


# (kind, words every option list of that question has): options are the most robust cue, as
# their titles are what the citizen must pick from.
_OPTION_CUES = [
    ("cancel_confirm", ("batalkan",)),
    ("satisfaction", ("sangat puas",)),
    ("field", ("jenis laporan", "privasi")),
    ("privacy", ("rahasia", "anonim")),
    ("readback", ("kirim", "ubah")),
    ("menu", ("pengaduan", "aspirasi", "status")),
    ("report_type", ("pengaduan", "aspirasi")),
    ("onboarding", ("suara", "sederhana")),
]


def _kind_from_options(message: BotMessage) -> Optional[str]:
    titles = " | ".join(option.title.lower() for option in options_of(message))
    if not titles:
        return None
    for kind, words in _OPTION_CUES:
        if all(word in titles for word in words):
            return kind
    return None


def classify(message: BotMessage) -> str:
    lowered = message.text.lower()
    for kind, pattern in _CUES[:2]:  # a status answer or a filing confirmation: before any option
        if pattern.search(lowered):
            return kind
    by_options = _kind_from_options(message)
    if by_options:
        return by_options
    for kind, pattern in _CUES:
        if pattern.search(lowered):
            return kind
    titles = " ".join(button.get("title", "") for button in message.buttons).lower()
    if all(word in titles for word in ("pengaduan", "aspirasi")):
        return "menu" if "status" in titles else "report_type"
    return "unknown"


def recognise(messages: Sequence[BotMessage]) -> Question:
    """The question the last of these messages asks (a statement before it gives context only)."""
    options: List[Option] = []
    for message in reversed(messages):
        if not options:
            options = options_of(message)
        kind = classify(message)
        if kind == "filed":
            # The number is a statement; a question sent after it (satisfaction) is what is asked.
            continue
        if kind != "unknown":
            return Question(kind, message.text, options_of(message) or options)
    text = messages[-1].text if messages else ""
    return Question("unknown", text, options)


def tracking_number_in(messages: Sequence[BotMessage]) -> Optional[str]:
    """The number a filing confirmation gives (not one quoted by a status answer)."""
    for message in messages:
        found = TRACKING_NUMBER.search(message.text)
        if found and classify(message) == "filed":
            return found.group(0)
    return None
