"""What a citizen's short answer means: yes or no, which report type, which privacy level...

Why a pure module: the form validators in ``bot.actions`` must understand the same answer
whether it came from a button payload, a typed word with a typo, a number picked from a list
or a voice transcript, and these rules are easiest to trust as plain functions with tables of
examples (tests/bot/test_answers.py). Nothing here touches Rasa or the database.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional, Sequence

REPORT_TYPES = ("pengaduan", "aspirasi", "permintaan_informasi")
PRIVACY_LEVELS = ("biasa", "rahasia", "anonim")
CORRECTABLE_FIELDS = ("report_type", "description", "location", "incident_date", "privacy")

# Intents the form never takes as an answer: they steer the conversation instead.
CONTROL_INTENTS = ("cancel", "ask_help", "repeat", "request_human", "choose_voice", "choose_simple_language")

_NUMBER_WORDS = {
    "satu": 1, "pertama": 1, "kesatu": 1, "dua": 2, "kedua": 2, "tiga": 3, "ketiga": 3,
    "empat": 4, "keempat": 4, "lima": 5, "kelima": 5, "enam": 6, "keenam": 6,
}
_FILLER = {"yang", "nomor", "nomer", "no", "pilihan", "pilih", "aja", "saja", "deh", "dong", "ya", "angka", "ke", "kak", "min", "pak", "bu"}

_YES = {
    "ya", "iya", "iyaa", "iyah", "y", "yes", "yup", "betul", "benar", "bener", "ok", "oke", "okay",
    "okey", "sip", "siap", "setuju", "kirim", "lanjut", "boleh", "sudah", "udah", "udh", "sdh",
    "tentu", "mantap", "inggih", "nggih", "enggih", "leres", "muhun", "yoi", "yaa",
}
_NO = {
    "tidak", "tdk", "gak", "ga", "gk", "nggak", "ngga", "engga", "enggak", "no", "bukan", "salah",
    "ubah", "ganti", "jangan", "belum", "blm", "tak", "ndak", "mboten", "henteu", "teu", "koreksi",
    "perbaiki", "edit", "keliru", "lewati", "skip",
}

_TYPE_WORDS = (
    ("permintaan_informasi", ("informasi", "info", "infonya", "bertanya", "tanya", "pertanyaan", "permintaan")),
    ("aspirasi", ("aspirasi", "usul", "usulan", "saran", "masukan", "ide", "harapan")),
    ("pengaduan", ("pengaduan", "aduan", "adu", "keluhan", "komplain", "complain", "masalah", "lapor")),
)
_TYPE_INTENTS = {
    "file_complaint": "pengaduan",
    "file_aspiration": "aspirasi",
    "request_information": "permintaan_informasi",
}
_PRIVACY_WORDS = (
    ("anonim", ("anonim", "anonym", "anonymous", "anonimus", "tanpa nama", "sembunyikan nama", "rahasiakan nama", "jangan sebut nama")),
    ("rahasia", ("rahasia", "privat", "pribadi", "tertutup", "confidential", "jangan dipublikasi", "tidak publik")),
    ("biasa", ("biasa", "umum", "publik", "terbuka", "normal", "bebas")),
)
_FIELD_WORDS = (
    ("report_type", ("jenis", "tipe", "kategori")),
    ("description", ("cerita", "isi", "deskripsi", "keterangan", "uraian", "masalah")),
    ("location", ("lokasi", "tempat", "alamat", "lokasinya", "tempatnya", "alamatnya")),
    ("incident_date", ("tanggal", "tgl", "waktu", "kapan", "tanggalnya", "hari")),
    ("privacy", ("privasi", "privacy", "anonim", "rahasia", "kerahasiaan")),
)
_RATING_PHRASES = (
    (1, ("sangat tidak puas", "sangat kecewa", "sangat buruk", "parah banget", "jelek banget", "buruk sekali")),
    (5, ("sangat puas", "puas banget", "puas sekali", "sangat bagus", "bagus banget", "mantap", "keren", "luar biasa", "sempurna")),
    (2, ("tidak puas", "gak puas", "ga puas", "nggak puas", "kurang puas", "kecewa", "buruk", "jelek", "kurang")),
    (3, ("biasa aja", "biasa saja", "lumayan", "cukup", "sedang", "standar", "b aja", "biasa")),
    (4, ("puas", "bagus", "baik", "oke", "ok", "senang", "membantu")),
)
_SKIP_WORDS = ("lewati", "skip", "nanti", "tidak usah", "gak usah", "ga usah", "nggak usah", "tidak mau", "gak mau")

# Words that carry no detail in a report ("saya mau lapor jalan rusak").
_STOPWORDS = {
    "ada", "yang", "yg", "di", "ke", "dari", "itu", "ini", "dan", "atau", "saya", "aku", "sy", "gue",
    "mau", "ingin", "pengen", "lapor", "melapor", "laporan", "melaporkan", "pak", "bu", "kak", "min",
    "admin", "tolong", "mohon", "sangat", "sekali", "banget", "bgt", "parah", "nya", "dong", "deh",
    "sih", "ya", "tuh", "nih", "juga", "sudah", "udah", "lagi", "the", "jadi", "pada", "untuk", "buat",
}
# rapidfuzz ratio a typed label must reach to pick that option (one or two typos).
_LABEL_MATCH = 85
_DIGITS = re.compile(r"\d[\d\s\-.]*\d")


def _words(text: Optional[str]) -> list[str]:
    return re.findall(r"[a-z0-9']+", (text or "").lower())


def _phrase_in(text: str, phrases: Iterable[str]) -> bool:
    padded = f" {' '.join(_words(text))} "
    return any(f" {phrase} " in padded for phrase in phrases)


def is_command(text: Optional[str]) -> bool:
    """A button payload or accessibility command ("/affirm{...}") rather than typed words."""
    return bool(text) and text.lstrip().startswith("/")


def choice_number(text: Optional[str]) -> Optional[int]:
    """ "2", "dua", "yang kedua", "nomor 2": the option number, or None for any other answer."""
    words = [word for word in _words(text) if word not in _FILLER]
    if len(words) != 1:
        return None
    word = words[0]
    if word.isdigit():
        return int(word)
    return _NUMBER_WORDS.get(word)


def _pick(options: Sequence[str], text: Optional[str]) -> Optional[str]:
    number = choice_number(text)
    if number is not None and 1 <= number <= len(options):
        return options[number - 1]
    return None


def pick_option(text: Optional[str], labels: Sequence[str]) -> Optional[int]:
    """The index (0-based) of the option an answer picks from a numbered list, or None.

    A number ("2", "dua", "yang kedua") picks by position; otherwise the label itself, typed
    with small typos ("kota bandumg"), or a word that only one label contains ("listrik",
    "kabupaten"). Anything else picks nothing, so the caller can ask again.
    """
    number = choice_number(text)
    if number is not None:
        return number - 1 if 1 <= number <= len(labels) else None
    said = " ".join(_words(text))
    if not said or not labels:
        return None
    from rapidfuzz import fuzz

    normalised = [" ".join(_words(label)) for label in labels]
    scores = [100.0 if said == label else fuzz.ratio(said, label) for label in normalised]
    best = max(range(len(labels)), key=lambda index: scores[index])
    if scores[best] >= _LABEL_MATCH:
        return best
    content = [word for word in _words(text) if word not in _FILLER and len(word) >= 3]
    hits = set()
    for word in content:
        holders = [index for index, label in enumerate(normalised) if word in label.split()]
        if len(holders) == 1:
            hits.add(holders[0])
    return hits.pop() if len(hits) == 1 else None


def yes_no(text: Optional[str], intent: Optional[str] = None) -> Optional[bool]:
    """True for a yes, False for a no, None when the answer is neither."""
    if intent == "affirm":
        return True
    if intent == "deny":
        return False
    words = _words(text)
    if not words:
        return None
    if any(word in _NO for word in words[:3]):
        return False
    if words[0] in _YES or (len(words) <= 3 and any(word in _YES for word in words)):
        return True
    return None


def report_type_from(text: Optional[str], intent: Optional[str] = None) -> Optional[str]:
    if text in REPORT_TYPES:
        return text
    if intent in _TYPE_INTENTS:
        return _TYPE_INTENTS[intent]
    picked = _pick(REPORT_TYPES, text)
    if picked:
        return picked
    for value, words in _TYPE_WORDS:
        if _phrase_in(text or "", words):
            return value
    return None


def privacy_from(text: Optional[str], entity: Optional[str] = None) -> Optional[str]:
    if entity in PRIVACY_LEVELS:
        return entity
    if text in PRIVACY_LEVELS:
        return text
    picked = _pick(PRIVACY_LEVELS, text)
    if picked:
        return picked
    for value, phrases in _PRIVACY_WORDS:
        if _phrase_in(text or "", phrases):
            return value
    return None


def field_from(text: Optional[str], entity: Optional[str] = None) -> Optional[str]:
    if entity in CORRECTABLE_FIELDS:
        return entity
    picked = _pick(CORRECTABLE_FIELDS, text)
    if picked:
        return picked
    for value, words in _FIELD_WORDS:
        if _phrase_in(text or "", words):
            return value
    return None


def rating_from(text: Optional[str], entity: object = None) -> Optional[int]:
    """1-5 from a button, a digit, a number word or words like "puas" / "biasa aja"."""
    if entity is not None:
        try:
            value = int(str(entity))
        except ValueError:
            value = 0
        if 1 <= value <= 5:
            return value
    number = choice_number(text)
    if number is not None:
        return number if 1 <= number <= 5 else None
    for value, phrases in _RATING_PHRASES:
        if _phrase_in(text or "", phrases):
            return value
    return None


def wants_to_skip(text: Optional[str], intent: Optional[str] = None) -> bool:
    return intent == "deny" or _phrase_in(text or "", _SKIP_WORDS)


def too_short_to_act_on(description: Optional[str]) -> bool:
    """Fewer than 4 words, or fewer than 3 words that say something ("ada jalan yang rusak")."""
    words = _words(description)
    content = [word for word in words if word not in _STOPWORDS]
    return len(words) < 4 or len(content) < 3


def tracking_candidate(text: Optional[str]) -> Optional[str]:
    """The digits in a message that look like a tracking number attempt ("status 4821-7730")."""
    for match in _DIGITS.finditer(text or ""):
        digits = re.sub(r"\D", "", match.group(0))
        if 6 <= len(digits) <= 10:
            return digits
    return None


def pin_from(text: Optional[str]) -> Optional[str]:
    digits = re.sub(r"\D", "", text or "")
    return digits if len(digits) == 4 else None


def entity_value(entities: Optional[Iterable[Mapping]], name: str) -> object:
    for entity in entities or ():
        if entity.get("entity") == name:
            return entity.get("value")
    return None


_OFF_WORDS = (
    "teks", "tulisan", "ketik", "matikan", "nonaktifkan", "tidak usah", "gak usah", "ga usah",
    "nggak usah", "jangan", "stop", "berhenti", "tanpa", "biasa", "normal", "off", "tidak pakai",
    "gak pakai", "ga pakai", "nggak pakai",
)


def preference_on(text: Optional[str], entity: object = None) -> bool:
    """Whether a choose_voice / choose_simple_language message turns the option on.

    An explicit value from the accessibility layer ("/choose_voice{"voice_replies": false}")
    wins; otherwise the wording decides: "pakai teks saja" or "bahasa biasa" turns it off.
    """
    if isinstance(entity, bool):
        return entity
    if isinstance(entity, str) and entity.lower() in ("true", "false"):
        return entity.lower() == "true"
    return not _phrase_in(text or "", _OFF_WORDS)


# Words without which a message is not really a control request, whatever the NLU says.
_CONTROL_CUES = {
    "cancel": ("batal", "jadi", "stop", "berhenti", "cancel", "udahan", "sudahi", "hentikan", "gak usah", "ga usah",
               "nggak usah", "tidak usah"),
    "ask_help": ("bantu", "tolong", "bingung", "maksud", "gimana", "gmn", "bagaimana", "cara", "help", "jelas", "apa itu",
                 "ngerti", "paham", "ngapain", "?"),
    "repeat": ("ulang", "apa tadi", "tadi apa", "lagi", "denger", "dengar", "jelas", "gak kebaca", "ga kebaca"),
    "request_human": ("petugas", "orang", "manusia", "operator", "admin", "cs", "telepon", "telpon", "hubungi", "staf",
                      "pegawai", "agen"),
    "choose_voice": ("suara", "voice", "audio", "dengar", "teks", "tulisan", "vn", "rekam", "bacakan", "ngomong"),
    "choose_simple_language": ("sederhana", "bahasa", "mudah", "simpel", "simple", "gampang", "biasa"),
}
# Longer than this, a message is an answer that happens to mention "petugas" or "tolong".
_CONTROL_MAX_WORDS = 8


def steers_conversation(intent: Optional[str], text: Optional[str], fits_the_question: bool) -> bool:
    """Whether a message filed under a control intent really steers the conversation.

    Within a form the NLU sometimes files an answer under a control intent ("anonim" as
    ask_help, "lupa" as cancel, a street name as ask_help). An answer that fits the question
    is an answer; otherwise the message must be short and contain a word that asks for that
    control, or it is taken as the answer.
    """
    if intent not in CONTROL_INTENTS:
        return False
    if fits_the_question:
        return False
    lowered = (text or "").lower()
    if is_command(lowered):
        return True
    if len(_words(lowered)) > _CONTROL_MAX_WORDS:
        return False
    return any(cue in lowered for cue in _CONTROL_CUES.get(intent, ()))
