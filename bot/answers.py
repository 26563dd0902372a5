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
_FILLER = {"yang", "nomor", "nomer", "nomom", "nomo", "nomur", "nmr", "no", "pilihan", "pilih", "aja", "saja", "deh",
           "dong", "ya", "angka", "ke", "kak", "min", "pak", "bu", "itu", "saya", "pilihnya", "jawab", "jawaban"}

_YES = {
    "ya", "iya", "iyaa", "iyah", "y", "yes", "yup", "betul", "benar", "bener", "ok", "oke", "okay",
    "okey", "sip", "siap", "setuju", "kirim", "lanjut", "boleh", "sudah", "udah", "udh", "sdh",
    "tentu", "mantap", "inggih", "nggih", "enggih", "leres", "muhun", "yoi", "yaa", "yap", "yep",
    "betol", "bener", "benul", "iye", "iyo", "nggeh", "ho'oh", "hooh", "sae", "cocok", "pas",
}
# What Whisper writes for a spoken "nomor satu" / "nomor dua" ("nomom satu", "nomer satu").
_NUMBER_PREFIXES = {"nomor", "nomer", "nomom", "nomo", "nomur", "no", "nmr", "angka", "pilihan"}
_NO = {
    "tidak", "tdk", "gak", "ga", "gk", "nggak", "ngga", "engga", "enggak", "no", "bukan", "salah",
    "ubah", "ganti", "jangan", "belum", "blm", "tak", "ndak", "mboten", "henteu", "teu", "koreksi",
    "perbaiki", "edit", "keliru", "lewati", "skip", "tida", "tidk", "tdak", "kagak", "nope", "ora",
    "diubah", "ganti", "revisi",
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
_NAME = r"(?:nama|identitas|nomor|no hp|nomer)"
_NOT = r"(?:tidak|tdk|gak|ga|gk|nggak|ngga|enggak|jangan|jgn|ndak|tak|tanpa|bukan)"
# Checked in order; each pattern is matched on whole words. Negations come first, so "tidak
# usah rahasia" is biasa and "gak usah pakai nama saya" is anonim, not biasa.
_PRIVACY_PATTERNS = (
    ("biasa", rf"\b{_NOT} (?:usah |perlu |pakai |mau |harus )*(?:di ?)?(?:rahasia\w*|anonim\w*|sembunyi\w*)"),
    ("anonim", rf"\b(?:anonim\w*|anonym\w*|anonimus|tanpa {_NAME}|{_NAME} (?:saya |sy |aku )?(?:jangan|jgn|gak usah|ga usah|tidak usah|nggak usah|tidak perlu|gak perlu|ga perlu|disembunyikan|dirahasiakan|dihapus|tidak disebut|jangan disebut|jangan ditulis|jangan dicantumkan)"
               rf"|{_NOT} (?:usah |perlu |mau |boleh |ingin )*(?:pakai |pake |pakek |sebut |menyebut |tulis |menulis |cantumkan |mencantumkan |tampilkan |menampilkan |ada |catat |mencatat |disebut |ditulis |dicantumkan |dicatat |ketahuan |diketahui )+(?:\w+ )?{_NAME}"
               rf"|(?:sembunyikan|rahasiakan|samarkan|hapus) (?:\w+ )?{_NAME}|{_NAME} (?:\w+ )?(?:dirahasiakan|disembunyikan|disamarkan)"
               rf"|(?:tidak|gak|ga|nggak|jangan|tak) (?:mau |ingin )?(?:dikenal|ketahuan|diketahui)"
               rf"|siapa (?:saya|pelapornya) (?:jangan|tidak usah|gak usah))"),
    ("rahasia", r"\b(?:rahasia\w*|di ?rahasiakan|privat|pribadi|tertutup|confidential|"
                r"(?:jangan|tidak|gak|ga|jgn) (?:usah |perlu )?(?:di ?)?(?:publikasi\w*|sebar\w*|umumkan|diumumkan|dipublish|publish|dibuka|terbuka|publik|viral\w*)|"
                r"tidak publik|takut|khawatir|bahaya|diancam|dimusuhi|balas dendam|cuma petugas|hanya petugas|petugas saja)"),
    ("biasa", r"\b(?:biasa|biasa aja|biasa saja|umum|publik|terbuka|normal|bebas|boleh (?:di ?)?(?:lihat|baca|publikasi\w*|umum\w*|tahu)|"
              r"(?:pakai|pake|pakek|sebut|cantumkan|tulis) (?:saja |aja )?{name}|tidak apa|gak apa|ga apa|nggak apa|gpp|ngga papa|gak papa|ga papa|tidak masalah|gak masalah|ga masalah)\b".replace("{name}", _NAME)),
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
# Everyday words that never pick an option by themselves (they occur in labels and in answers).
_COMMON_WORDS = {
    "lalu", "dan", "atau", "umum", "bulan", "minggu", "hari", "tahun", "sejak", "dari", "sudah", "udah", "belum",
    "tidak", "gak", "bukan", "ada", "untuk", "dengan", "pada", "dalam", "lain", "lainnya", "lagi", "baru", "lama",
    "awal", "akhir", "tengah", "kemarin", "tadi", "sekitar", "kira", "mungkin", "semua", "banyak", "sedikit",
    "jalan", "masalah", "urusan", "layanan", "pelayanan", "kantor", "dinas", "tempat", "daerah", "warga", "masyarakat",
}
# rapidfuzz ratio a typed label must reach to pick that option (one or two typos).
_LABEL_MATCH = 85
_DIGITS = re.compile(r"\d[\d\s\-.]*\d")


def _words(text: Optional[str]) -> list[str]:
    return re.findall(r"[a-z0-9']+", (text or "").lower())


def _phrase_in(text: str, phrases: Iterable[str]) -> bool:
    padded = f" {' '.join(_words(text))} "
    return any(f" {phrase} " in padded for phrase in phrases)


def phrase_in(text: Optional[str], phrases: Iterable[str]) -> bool:
    """Whether ``text`` holds one of ``phrases`` as whole words (never inside a longer word)."""
    return _phrase_in(text or "", phrases)


_PLACE_WORDS = re.compile(
    r"\b(?:jl|jln|jalan|gang|gg|rt|rw|no|nomor|desa|ds|dusun|dsn|kampung|kp|kel|kelurahan|kec|kecamatan|kab|kabupaten|"
    r"kota|provinsi|prov|perumahan|perum|komplek|kompleks|blok|pasar|depan|dekat|samping|belakang|sebelah|seberang|"
    r"pertigaan|perempatan|simpang|nagari|gampong|banjar|lingkungan)\b"
)


def looks_like_place(text: Optional[str]) -> bool:
    """Whether an answer to "where?" is written like a place (a marker such as "kec", "jl", "dekat")."""
    return bool(_PLACE_WORDS.search(" ".join(_words(text))))


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
    # A word picks an option only in a short answer, and only a word that names something:
    # "sejak awal bulan lalu" once picked "Angkutan umum dan lalu lintas" for "lalu".
    if len(content) > 3:
        return None
    named = [word for word in content if word not in _COMMON_WORDS]
    if named:
        content = named
    elif len(content) > 2:
        return None
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
    # "1" / "nomor satu" (or Whisper's "nomom satu") picks the first button: yes; "2": no.
    # Only with a number prefix or alone: a bare "tiga." heard out of nothing is no answer.
    if len(words) <= 3:
        number = choice_number(text)
        if number in (1, 2) and (len(words) == 1 or words[0] in _NUMBER_PREFIXES):
            return number == 1
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
    said = " ".join(_words(text))
    for value, pattern in _PRIVACY_PATTERNS:
        if re.search(pattern, said):
            return value
    return None


_PRIVACY_STATED = re.compile(
    r"\b(?:anonim\w*|anonym\w*|rahasia\w*|dirahasiakan|tanpa (?:nama|identitas)|"
    r"(?:jangan|jgn|tidak usah|gak usah|ga usah|nggak usah) (?:\w+ ){0,2}(?:nama|identitas) saya|"
    r"(?:nama|identitas) saya (?:jangan|jgn|dirahasiakan|disembunyikan))\b"
)


def states_privacy(text: Optional[str]) -> bool:
    """Whether a longer message asks in so many words for privacy ("anonim", "tanpa nama").

    Stricter than :func:`privacy_from`, which reads the answer to the privacy question itself:
    in a whole story, "takut" or "biasa" say nothing about who may read the report.
    """
    return bool(_PRIVACY_STATED.search(" ".join(_words(text)))) and privacy_from(text) in ("anonim", "rahasia")


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


# Whole words and phrases without which a message is not really a control request, whatever
# the NLU says. Whole words only: place names hold everyday words ("Sukajadi", "Bantul",
# "Kota Batu"), and a substring cue once turned those answers into "cancel" and "help".
_CONTROL_CUES = {
    "cancel": ("batal", "batalkan", "batalin", "dibatalkan", "pembatalan", "cancel", "stop", "berhenti", "udahan",
               "sudahi", "hentikan", "tidak jadi", "gak jadi", "ga jadi", "nggak jadi", "ngga jadi", "enggak jadi",
               "tdk jadi", "gk jadi", "teu jadi", "ora sida", "mboten sios", "gak usah lapor", "tidak usah lapor",
               "ga usah lapor", "nggak usah lapor", "tidak usah dilanjut", "gak usah dilanjut", "keluar"),
    "ask_help": ("bantuan", "bantu", "tolong", "bingung", "maksudnya", "maksud", "help", "apa itu", "ngerti",
                 "mengerti", "paham", "ngapain", "gimana ini", "bagaimana ini", "caranya", "contoh", "contohnya"),
    "repeat": ("ulang", "ulangi", "diulang", "ulangin", "apa tadi", "tadi apa", "sekali lagi", "gak denger",
               "ga denger", "tidak dengar", "kurang jelas", "gak jelas", "ga jelas", "gak kebaca", "ga kebaca", "lagi dong"),
    "request_human": ("petugas", "orang", "manusia", "operator", "admin", "cs", "telepon", "telpon", "hubungi", "staf",
                      "staff", "pegawai", "agen", "customer service"),
    "choose_voice": ("suara", "voice", "audio", "dengar", "dengarkan", "teks", "tulisan", "vn", "rekam", "bacakan",
                     "ngomong", "lisan", "pesan suara"),
    "choose_simple_language": ("sederhana", "bahasa", "mudah", "simpel", "simple", "gampang", "biasa"),
}
# Longer than this, a message is an answer that happens to mention "petugas" or "tolong".
_CONTROL_MAX_WORDS = 8


def control_cue(intent: Optional[str], text: Optional[str]) -> bool:
    """Whether ``text`` holds, as a whole word or phrase, a word that asks for ``intent``."""
    return _phrase_in(text or "", _CONTROL_CUES.get(intent or "", ()))


def steers_conversation(intent: Optional[str], text: Optional[str], fits_the_question: bool) -> bool:
    """Whether a message filed under a control intent really steers the conversation.

    Within a form the NLU sometimes files an answer under a control intent ("anonim" as
    ask_help, "lupa" as cancel, "kelurahan sukajadi, pekanbaru" as cancel). An answer that fits
    the question is an answer; otherwise the message must be short and hold a whole word or
    phrase that asks for that control, or it is taken as the answer.
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
    return control_cue(intent, lowered)


# --- the cancel confirmation ----------------------------------------------------------------

_CANCEL_YES = ("batal", "batalkan", "batalin", "dibatalkan", "hapus", "hapus saja", "cancel", "stop", "berhenti",
               "udahan", "sudahi", "hentikan", "keluar")
_CANCEL_CONTINUE = ("lanjut", "lanjutkan", "terus", "teruskan", "tidak jadi", "gak jadi", "ga jadi", "nggak jadi",
                    "ngga jadi", "enggak jadi", "tdk jadi", "gk jadi", "jangan", "jgn", "eh salah", "salah", "salah pencet",
                    "salah ketik", "keliru", "tidak", "tdk", "gak", "ga", "gk", "nggak", "ngga", "enggak", "bukan",
                    "belum", "tunggu", "sebentar", "eh", "lanjutkan saja", "kembali", "balik")


def cancel_decision(text: Optional[str], intent: Optional[str] = None) -> Optional[bool]:
    """The answer to "cancel this report?": True only for a clear yes, False to go on, else None.

    A report in progress is lost only on a clear yes ("ya", "iya batalkan", "1"): "jangan",
    "tidak jadi", "lanjut", "eh salah" continue, and so does anything else (the caller then
    tries the message as the answer to the question that was pending).
    """
    if intent == "affirm" and is_command(text):
        return True
    if intent == "deny" and is_command(text):
        return False
    words = _words(text)
    if not words:
        return None
    said = " ".join(words)
    if _phrase_in(said, _CANCEL_CONTINUE) or "lanjut" in said:
        return False
    number = choice_number(text)
    if number is not None and len(words) <= 3:
        return True if number == 1 else False if number == 2 else None
    if len(words) <= 5 and (words[0] in _YES or _phrase_in(said, _CANCEL_YES)):
        return True
    return None


# --- information requests asked as questions --------------------------------------------------

_HOW_TO = re.compile(
    r"\b(?:bagaimana|bgmn|gimana|gmn|gmana|bagaimanakah|gimana sih) (?:cara|caranya|prosedur|proses|syarat|langkah|mekanisme|kalau|kalo|jika|untuk|utk|mau|ngurus|mengurus|daftar|mendaftar)\b"
    r"|\b(?:mau|ingin|pengen|pingin|boleh|izin|ijin) (?:tanya|bertanya|nanya|menanyakan|info|informasi|minta info)\b"
    r"|\b(?:apakah|apa) (?:bisa|boleh|benar|betul|ada|masih|sudah|harus|perlu|wajib)\b"
    r"|\b(?:syarat|syaratnya|persyaratan|prosedur|prosedurnya|alur|mekanisme|jadwal|jadwalnya|biaya|biayanya|tarif)\b.*\?"
    r"|\b(?:berapa|kapan|dimana|di mana|kemana|ke mana|siapa) .*\?"
    r"|\bcara (?:daftar|mendaftar|urus|mengurus|membuat|buat|bikin|mendapatkan|dapat|dapetin|mengajukan|ajukan|cek|mengecek|klaim|mencairkan|memperpanjang|perpanjang|ganti|mengganti|pindah|mengurus)\b"
)
# Questions about this assistant itself are help, not an information request to an agency.
_ABOUT_THE_BOT = re.compile(r"\b(?:sapalapor|bot|aplikasi ini|di sini|disini|layanan ini|cara lapor|cara melapor|cara pakai|cara menggunakan|cara kirim laporan|pakai ini|isi formulir|formulir ini|status laporan|cek laporan|nomor laporan)\b")


_ASPIRATION_CUES = ("usul", "usulan", "mengusulkan", "usulkan", "saran", "menyarankan", "sarankan", "sebaiknya",
                    "alangkah baiknya", "harap", "berharap", "harapan", "semoga", "aspirasi", "masukan", "ide",
                    "mohon dibangun", "tolong dibangun", "perlu dibangun", "mohon diadakan", "perlu diadakan",
                    "tolong diadakan", "agar dibangun", "supaya dibangun", "bagaimana kalau", "gimana kalau")
_COMPLAINT_CUES = ("tidak bisa", "gak bisa", "ga bisa", "nggak bisa", "tdk bisa", "rusak", "mati", "padam", "bocor",
                   "macet", "banjir", "dipotong", "pungli", "pungutan", "diminta uang", "minta uang", "kecewa", "lambat",
                   "tidak ada", "gak ada", "belum ada", "tidak punya", "gak punya", "belum cair", "tidak cair",
                   "ditolak", "tidak dilayani", "mohon ditindaklanjuti", "tolong ditindaklanjuti", "segera diperbaiki",
                   "tolong diperbaiki", "mohon diperbaiki", "dibiarkan", "terbengkalai", "korban", "diancam", "dipukul")


def reads_as_complaint(text: Optional[str]) -> bool:
    """Words of a complaint and none of a suggestion: the NLU's "aspirasi" is then corrected.

    "Kantor pelayanan tidak punya jalur kursi roda, tolong segera diperbaiki" is a complaint
    even when the classifier hears a wish in it; "saya usul dibangun jalur kursi roda" is not.
    """
    return _phrase_in(text or "", _COMPLAINT_CUES) and not _phrase_in(text or "", _ASPIRATION_CUES)


def asks_for_information(text: Optional[str]) -> bool:
    """A question about a public service ("bagaimana cara daftar bpjs pbi ...?"): a *permintaan informasi*.

    Needs a question form and some substance (at least four words), and is not a question about
    using this assistant ("bagaimana cara melapor?" is help).
    """
    said = " ".join(_words(text))
    if len(said.split()) < 4:
        return False
    lowered = (text or "").lower()
    probe = said + (" ?" if "?" in lowered else "")
    if _ABOUT_THE_BOT.search(probe):
        return False
    return bool(_HOW_TO.search(probe))
