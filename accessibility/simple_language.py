"""The simple-language rules, in one place, and a checker for them.

Why: people with low literacy or a cognitive disability, and anyone listening to a voice note,
follow short sentences in everyday words, one question at a time, with the choices spelled out.
Every response in ``bot/domain.yml`` has a variant for ``simple_language = true``; the test
``tests/accessibility/test_simple_language_rules.py`` checks each one with :func:`check_simple`.

The rules:

1. at most one question per message;
2. every sentence has at most :data:`MAX_WORDS` words (sentences end at . ! ? and line breaks;
   a numbered list item is a sentence; a ``{slot}`` placeholder counts as one word);
3. none of the bureaucratic terms in :data:`GLOSSARY`, in any inflection (``ditindaklanjuti``,
   ``kewenangan``, ``pelaporan``, ``dilampirkan`` ...); the glossary gives the plain word to use;
4. a response with buttons lists its choices as a numbered list in the text (voice and SMS
   users cannot see buttons).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

MAX_WORDS = 12

# Bureaucratic term -> the everyday words to use instead.
GLOSSARY = {
    "disposisi": "diteruskan ke petugas",
    "instansi": "kantor pemerintah",
    "tindak lanjut": "penanganan",
    "ditindaklanjuti": "ditangani",
    "verifikasi": "pemeriksaan",
    "diverifikasi": "diperiksa",
    "pelapor": "Anda (orang yang melapor)",
    "kronologi": "urutan kejadian",
    "lampiran": "foto atau berkas",
    "domisili": "tempat tinggal",
    "yurisdiksi": "wilayah tugas",
    "wewenang": "tugas",
    "identitas": "nama dan data diri",
    "klasifikasi": "jenis",
    "prosedur": "langkah",
    "mekanisme": "cara",
    "terlapor": "orang atau kantor yang dilaporkan",
    "substansi": "isi",
    "validasi": "pengecekan",
    "regulasi": "aturan",
    "pemohon": "orang yang meminta",
    "registrasi": "pendaftaran",
}

# The part of each term that survives Indonesian affixes (di-, me-, ber-, ke-...-an, -kan, -nya):
# "lampir" catches lampiran, melampirkan, dilampirkan; "wenang" catches berwenang, kewenangan.
_STEMS = {
    "disposisi": r"disposisi",
    "instansi": r"instansi",
    "tindak lanjut": r"tindak\s*-?\s*lanjut",
    "ditindaklanjuti": r"tindak\s*-?\s*lanjut",
    "verifikasi": r"verifika",
    "diverifikasi": r"verifika",
    "pelapor": r"pelapor",
    "kronologi": r"kronologi",
    "lampiran": r"lampir",
    "domisili": r"domisili",
    "yurisdiksi": r"yurisdiksi",
    "wewenang": r"wenang",
    "identitas": r"identitas",
    "klasifikasi": r"klasifika",
    "prosedur": r"prosedur",
    "mekanisme": r"mekanisme",
    "terlapor": r"terlapor",
    "substansi": r"substan",
    "validasi": r"validasi",
    "regulasi": r"regulasi",
    "pemohon": r"pemohon",
    "registrasi": r"registrasi",
}
# One pattern per stem; a word is reported under the term it spells, else the base term.
_TERMS = []
for _stem in dict.fromkeys(_STEMS.values()):
    _names = sorted((term for term, stem in _STEMS.items() if stem == _stem), key=len)
    _TERMS.append((_names, re.compile(rf"\b\w*{_stem}\w*\b", re.IGNORECASE)))

_LIST_ITEM = re.compile(r"^\s*(\d{1,2})\s*[.)]\s+(.*)$")
_PLACEHOLDER = re.compile(r"\{[^{}\s]+\}")
_WORD = re.compile(r"[0-9A-Za-z\u00C0-\u024F]")


@dataclass(frozen=True)
class Violation:
    rule: str  # "one_question" | "sentence_length" | "glossary" | "numbered_choices"
    detail: str
    sentence: str = ""

    def __str__(self) -> str:
        return f"[{self.rule}] {self.detail}" + (f": {self.sentence!r}" if self.sentence else "")


@dataclass(frozen=True)
class Readability:
    messages: int
    sentences: int
    words: int
    glossary_terms: int

    @property
    def words_per_sentence(self) -> float:
        return self.words / self.sentences if self.sentences else 0.0

    @property
    def glossary_share(self) -> float:
        """Glossary terms per word (0.01 = one word in a hundred is bureaucratic)."""
        return self.glossary_terms / self.words if self.words else 0.0

    def __str__(self) -> str:
        return (f"{self.messages} messages, {self.sentences} sentences, "
                f"{self.words_per_sentence:.1f} words/sentence, "
                f"glossary terms {self.glossary_terms} ({self.glossary_share:.2%} of words)")


def sentences(text: str) -> list[str]:
    """Sentences of a message: split at . ! ? and line breaks; a list item is one sentence."""
    found = []
    for line in text.splitlines():
        item = _LIST_ITEM.match(line)
        if item:
            line = item.group(2)
        for part in re.split(r"(?<=[.!?])\s+", line.strip()):
            if _WORD.search(part):
                found.append(part.strip())
    return found


def count_words(sentence: str) -> int:
    """Words in a sentence; a ``{slot}`` placeholder is one word, bare punctuation is none."""
    sentence = _PLACEHOLDER.sub(" slot ", sentence)
    return sum(1 for token in sentence.split() if _WORD.search(token))


def glossary_hits(text: str) -> list[tuple[str, str]]:
    """(term, word found) for every bureaucratic word in ``text``."""
    hits = []
    for names, pattern in _TERMS:
        for match in pattern.finditer(_PLACEHOLDER.sub(" ", text)):
            word = match.group(0)
            spelled = " ".join(word.lower().split())
            hits.append((spelled if spelled in names else names[0], word))
    return hits


def numbered_items(text: str) -> list[str]:
    return [match.group(2).strip() for match in map(_LIST_ITEM.match, text.splitlines()) if match]


def check_simple(text: str, has_buttons: bool, *, button_titles: Optional[Sequence[str]] = None) -> list[Violation]:
    """Every way ``text`` breaks the simple-language rules (empty list: it follows them all).

    ``button_titles``, when given: item n of the numbered list must start with button n's title.
    """
    violations: list[Violation] = []
    questions = text.count("?")
    if questions > 1:
        violations.append(Violation("one_question", f"{questions} questions in one message (at most 1)"))
    for sentence in sentences(text):
        words = count_words(sentence)
        if words > MAX_WORDS:
            violations.append(Violation("sentence_length", f"{words} words (at most {MAX_WORDS})", sentence))
    for term, word in glossary_hits(text):
        violations.append(Violation("glossary", f"{word!r} is bureaucratic; say {GLOSSARY[term]!r}"))
    if has_buttons:
        items = numbered_items(text)
        if len(items) < 1:
            violations.append(Violation("numbered_choices", "has buttons but no numbered list of the choices"))
        elif button_titles is not None:
            # Item n must name button n: "dua" picks the second button (accessibility.choices).
            listed = {int(m.group(1)): _plain_label(m.group(2)) for m in map(_LIST_ITEM.match, text.splitlines()) if m}
            for number, title in enumerate(button_titles, start=1):
                label, item = _plain_label(title), listed.get(number, "")
                if not (item == label or item.startswith(label + " ")):
                    violations.append(Violation(
                        "numbered_choices", f"item {number} should name the button {title!r}, found {item!r}"
                    ))
    return violations


def _plain_label(label: str) -> str:
    """A choice label without its own number or punctuation: "1 Sangat puas" -> "sangat puas"."""
    label = re.sub(r"^\s*\d{1,2}\s*[.)]?\s*", "", label)
    return " ".join(re.sub(r"[^\w\s]", " ", label.lower()).split())


def readability(texts: Iterable[str]) -> Readability:
    """Words per sentence and share of glossary terms over a set of messages."""
    messages = sentence_count = words = terms = 0
    for text in texts:
        messages += 1
        found = sentences(text)
        sentence_count += len(found)
        words += sum(count_words(sentence) for sentence in found)
        terms += len(glossary_hits(text))
    return Readability(messages, sentence_count, words, terms)
