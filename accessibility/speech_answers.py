"""What a spoken answer can be, given the question it answers (pure; no model here).

Why: Whisper base on a one-word answer is a coin toss ("tidak" came back as "Tida." or
"tiga.", "baik" as "Bye!"), but a question usually admits a handful of answers. The dialogue
tells the layer what it expects (a bot reply's ``expects``: one of :data:`KINDS`); this module
turns that into the candidate texts the recogniser scores (:func:`candidates`), maps a free
transcript onto them (:func:`match`), reads digit strings and tracking numbers
(:func:`heard_digits`, :func:`tracking_number`), spots a decoder that looped
(:func:`looks_like_loop`), and turns a score margin into a confidence (:func:`calibrated`).
"""
from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from storage import tracking_numbers

KINDS = ("yes_no", "choice", "number", "tracking_number", "pin", "rating", "date", "place", "free_text")
# Scored among a closed set of answers.
SCORED_KINDS = frozenset({"yes_no", "choice", "rating"})
# Decoded with a digit prompt and read as digits.
DIGIT_KINDS = frozenset({"number", "tracking_number", "pin"})

YES, NO = "ya", "tidak"
# What people say for yes and no (issue 20; "ya sudah benar" confirms a read-back).
YES_FORMS = ("ya", "iya", "betul", "benar", "ya sudah benar")
NO_FORMS = ("tidak", "bukan", "salah", "nggak")
# Matched in a free transcript but not scored (each scored text costs decoder time).
YES_WORDS = YES_FORMS + ("ya betul", "sudah benar", "boleh", "oke", "iya betul")
NO_WORDS = NO_FORMS + ("enggak", "gak", "tidak ubah", "bukan itu")
# Words a listener may say at any step instead of answering; they go to the dialogue as said.
CONTROL_WORDS = ("batal", "ulangi", "bantuan", "petugas")

_NUMBER_WORDS = ("satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh",
                 "sebelas", "dua belas")
_ORDINAL_WORDS = ("pertama", "kedua", "ketiga", "keempat", "kelima", "keenam", "ketujuh", "kedelapan",
                  "kesembilan", "kesepuluh", "kesebelas", "kedua belas")
_RATING_PHRASES = {"1": ("sangat tidak puas",), "2": ("tidak puas", "kurang puas"), "3": ("biasa saja", "cukup"),
                   "4": ("puas", "baik"), "5": ("sangat puas",)}


@dataclass(frozen=True)
class Candidate:
    """One way of saying one answer: ``value`` is what it means, ``text`` how it is said."""

    value: str
    text: str


def option_value(index: int) -> str:
    """The value of the option at 0-based ``index`` ("#0"): the layer maps it to a button."""
    return f"#{index}"


def option_index(value: Optional[str]) -> Optional[int]:
    return int(value[1:]) if value and value.startswith("#") and value[1:].isdigit() else None


def normalise(text: Optional[str]) -> str:
    """Lower case, punctuation gone: "Iya, betul." -> "iya betul"."""
    return " ".join(re.sub(r"[^\w\s]", " ", (text or "").lower()).replace("_", " ").split())


def yes_no_of(text: Optional[str]) -> Optional[str]:
    """YES or NO when a button title or answer starts with a yes or no word, else None."""
    words = normalise(text).split()
    if not words:
        return None
    if words[0] in {form.split()[0] for form in YES_FORMS}:
        return YES
    if words[0] in {form.split()[0] for form in NO_FORMS} or words[0] in ("ga", "gak", "tak"):
        return NO
    return None


def candidates(kind: Optional[str], titles: Sequence[str] = ()) -> list[Candidate]:
    """The answers to score for a question of ``kind`` with these button titles.

    A numbered menu also holds "tidak" as an answer of its own: a spoken "no" must win as a
    no, never as the option its sound resembles ("tiga").
    """
    found: list[Candidate] = []
    if kind == "yes_no":
        found += [Candidate(YES, form) for form in YES_FORMS] + [Candidate(NO, form) for form in NO_FORMS]
        for index, title in enumerate(titles[:len(_NUMBER_WORDS)]):
            meaning = yes_no_of(title) or option_value(index)
            found += [Candidate(meaning, _NUMBER_WORDS[index]), Candidate(meaning, f"nomor {_NUMBER_WORDS[index]}")]
    elif kind == "rating" and not titles:
        for value, phrases in _RATING_PHRASES.items():
            found += [Candidate(value, _NUMBER_WORDS[int(value) - 1])]
            found += [Candidate(value, phrase) for phrase in phrases]
    elif kind in ("choice", "rating") or titles:
        for index, title in enumerate(titles[:len(_NUMBER_WORDS)]):
            value = option_value(index)
            found += [Candidate(value, _NUMBER_WORDS[index]), Candidate(value, f"nomor {_NUMBER_WORDS[index]}")]
            label = normalise(title)
            if label:
                found.append(Candidate(value, label))
        # "tidak" is an answer of its own so a spoken no never becomes "tiga". A bare "ya" is
        # not: in a menu it means nothing, and as the shortest candidate it outscored real
        # options ("biasa" scored as "ya" at 0.93 on espeak-ng speech).
        found.append(Candidate(NO, "tidak"))
    unique: dict[str, Candidate] = {}
    for candidate in found:
        unique.setdefault(candidate.text, candidate)
    return list(unique.values())


def spellings(kind: Optional[str], titles: Sequence[str] = ()) -> list[Candidate]:
    """:func:`candidates` plus the other ways of saying them that only a free transcript is matched to."""
    found = candidates(kind, titles)
    if kind == "yes_no" or titles or kind == "choice":
        found += [Candidate(YES, form) for form in YES_WORDS] + [Candidate(NO, form) for form in NO_WORDS]
    if kind in ("choice", "rating") or (titles and kind != "yes_no"):
        found += [Candidate(option_value(index), f"yang {_ORDINAL_WORDS[index]}")
                  for index in range(min(len(titles), len(_ORDINAL_WORDS)))]
        found += [Candidate(option_value(index), f"pilihan {_NUMBER_WORDS[index]}")
                  for index in range(min(len(titles), len(_NUMBER_WORDS)))]
    return found


def match(text: Optional[str], options: Iterable[Candidate], threshold: float = 80.0) -> Optional[Candidate]:
    """The candidate a free transcript says (close spelling), or None when it says something else."""
    said = normalise(text)
    if not said:
        return None
    best, best_score = None, 0.0
    for candidate in options:
        score = 100.0 if said == candidate.text else fuzz.ratio(said, candidate.text)
        if score > best_score:
            best, best_score = candidate, score
    return best if best_score >= threshold else None


def control_word(text: Optional[str], fuzzy: bool = False) -> Optional[str]:
    """ "batal", "ulangi", ... when the whole answer is one of them (then it is passed on as said).

    ``fuzzy``: a close spelling counts too ("Bata-l"), for a transcript of one spoken word.
    """
    said = normalise(text)
    if said in CONTROL_WORDS:
        return said
    if fuzzy and said:
        best = max(CONTROL_WORDS, key=lambda word: fuzz.ratio(said, word))
        return best if fuzz.ratio(said, best) >= 80 else None
    return None


# ------------------------------------------------------------------------------- digits
_DIGIT = {"nol": 0, "kosong": 0, "o": 0, "satu": 1, "se": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6,
          "tujuh": 7, "delapan": 8, "lapan": 8, "sembilan": 9}
_TOKEN = re.compile(r"\d+|[a-z]+")
# Only digits are expected where this is used, so a word one letter off a digit word of four
# letters or more is that digit ("tuju", "empa", "sembilam"), as Whisper writes unclear digits.
_FUZZY_DIGIT_WORDS = tuple(word for word in _DIGIT if len(word) >= 4)


def _digit_word(token: str) -> Optional[str]:
    if token in _DIGIT:
        return token
    if len(token) >= 4:
        for word in _FUZZY_DIGIT_WORDS:
            if Levenshtein.distance(token, word) <= 1:
                return word
    return None


# Whisper writes digit words said quickly as one word ("enamdua", "nolenam", "sayaenam").
_RUN_WORDS = tuple(sorted((word for word in _DIGIT if word != "se"), key=len, reverse=True))


def split_digit_run(token: str) -> list[str]:
    """ "enamdua" -> ["enam", "dua"]; a word that ends in digit words keeps only those
    ("sayaenam" -> ["enam"]); any other word unchanged. Only where digits are expected."""
    if len(token) < 5 or token in _DIGIT:
        return [token]
    for start in range(len(token) - 2):
        rest, words = token[start:], []
        while rest:
            word = next((word for word in _RUN_WORDS if rest.startswith(word)), None)
            if word is None:
                break
            words.append(word)
            rest = rest[len(word):]
        # A lone suffix must be a word of four letters or more ("kedua" is not "dua").
        if not rest and words and (start == 0 or len(words) > 1 or len(words[0]) >= 4):
            return words if start == 0 or len(token) - start >= 4 else [token]
    return [token]


def heard_digits(text: Optional[str]) -> str:
    """Every digit said, in order: "empat delapan, 21 tujuh puluh tiga" -> "482173".

    Spoken tens and teens ("dua puluh satu", "sebelas", "tiga belas") count as the two digits
    a person means when reading a number in pairs; "kosong", "nol" and a lone "o" are 0, and
    digit words run together ("enamdua") are split.
    """
    out: list[str] = []
    raw = [word for token in _TOKEN.findall((text or "").lower()) for word in split_digit_run(token)]
    tokens = [_digit_word(token) or token for token in raw]
    index = 0
    while index < len(tokens):
        token = tokens[index]
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token.isdigit():
            out.append(token)
        elif token == "sepuluh":
            out.append("10")
        elif token == "sebelas":
            out.append("11")
        elif token in _DIGIT and following == "belas":
            out.append(str(10 + _DIGIT[token]))
            index += 1
        elif token in _DIGIT and following == "puluh":
            tens = _DIGIT[token]
            after = tokens[index + 2] if index + 2 < len(tokens) else ""
            if after in _DIGIT and after not in ("se",) and (index + 3 >= len(tokens) or tokens[index + 3] not in ("puluh", "belas")):
                out.append(f"{tens}{_DIGIT[after]}")
                index += 2
            else:
                out.append(f"{tens}0")
                index += 1
        elif token in _DIGIT and token != "se":
            out.append(str(_DIGIT[token]))
        index += 1
    return "".join(out)


def tracking_number(text: Optional[str]) -> Optional[str]:
    """ "4821-7730" when the transcript holds exactly eight digits that pass the Damm check."""
    digits = heard_digits(text)
    if len(digits) != tracking_numbers.LENGTH:
        return None
    return tracking_numbers.normalise(digits)


def first_valid_tracking_number(readings: Sequence[str]) -> Optional[tuple[str, int]]:
    """(digits, rank) of the first reading, best first, that is eight digits whose Damm check
    digit holds; None when none is. The rank says whether the best reading was valid (0)."""
    for rank, digits in enumerate(readings):
        if len(digits) == tracking_numbers.LENGTH and tracking_numbers.is_valid(digits):
            return digits, rank
    return None


def single_digit_repairs(digits: str) -> list[str]:
    """Every number one digit away from ``digits`` whose check digit holds (Damm: one per place)."""
    repairs = []
    for place in range(len(digits)):
        for digit in "0123456789":
            if digit != digits[place]:
                trial = digits[:place] + digit + digits[place + 1:]
                if tracking_numbers.normalise(trial):
                    repairs.append(trial)
    return repairs


# ------------------------------------------------------------------------------- loops
_REPEATED_CHARS = re.compile(r"(\S)\1{7,}")
# A unit of 3-12 characters three times in a row, spaces and punctuation aside
# ("7305173051730517", "tujutatujutatujuta"); only in a run of 15 characters or more.
_REPEATED_UNIT = re.compile(r"(\w{3,12}?)\1{2,}")


def compression_ratio(text: str) -> float:
    """Whisper's repetition measure: raw length over zlib-compressed length."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


def looks_like_loop(text: Optional[str], ratio_above: float = 2.4) -> bool:
    """A transcript that is a decoder loop, not speech: "7773333333...", a phrase over and over.

    Signs (any): a character run of eight or more ("33333333"), a unit of a few characters
    three times in a row over fifteen or more ("73051730517305"), Whisper's compression ratio
    above ``ratio_above`` on a text long enough to judge, or one word group of up to four
    words repeated four times or more in a row.
    """
    text = (text or "").strip()
    if not text:
        return False
    squeezed = re.sub(r"[\W_]+", "", text.lower())
    if _REPEATED_CHARS.search(squeezed):
        return True
    if any(len(found.group(0)) >= 15 for found in _REPEATED_UNIT.finditer(squeezed)):
        return True
    if len(text) >= 40 and compression_ratio(text) > ratio_above:
        return True
    words = normalise(text).split()
    for size in range(1, 5):
        for start in range(0, max(0, len(words) - 4 * size) + 1):
            group = words[start:start + size]
            if all(words[start + size * k:start + size * (k + 1)] == group for k in range(1, 4)):
                return True
    return False


def first_of_repeats(text: Optional[str]) -> str:
    """ "Rua Rua Rua" -> "rua": a short decode that repeats one word group (the quick decode of
    a one-word answer on a short window often does, and is cut off before it looks like a loop)
    kept once; any other text as it was."""
    words = normalise(text).split()
    for size in range(1, len(words) // 2 + 1):
        # The last word may be cut off by the token cap ("Timak Timak Ti").
        if (all(words[index] == words[index % size] for index in range(len(words) - 1))
                and words[(len(words) - 1) % size].startswith(words[-1])):
            return " ".join(words[:size])
    return (text or "").strip()


_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


def collapse_doubled(text: str) -> str:
    """A sentence said once but decoded twice in a row ("Kenapa ...? Kenapa ...?") kept once.

    Only whole sentences of three words or more: "iya, iya" is how people speak.
    """
    sentences = [part.strip() for part in _SENTENCE.findall(text) if part.strip()]
    kept: list[str] = []
    for sentence in sentences:
        if kept and normalise(sentence) == normalise(kept[-1]) and len(normalise(sentence).split()) >= 3:
            continue
        kept.append(sentence)
    return " ".join(kept) if kept else text


# ------------------------------------------------------------------------------- confidence
@dataclass(frozen=True)
class Calibration:
    """confidence = logistic(scale * (margin - centre) + agree_bonus * agreed).

    ``margin``: log-probability (nats) of the best answer minus the best rival answer; ``agreed``:
    the quick free decode of the same note says the same answer. Set on the benchmark
    (bench/speech_quality.py prints the reliability table, bench/README.md the numbers): the
    answers it got wrong had margins up to 2.4 nats (one at 3.4), most right ones more, so a
    lone margin of 2.5 gives 0.25, the dialogue's ``confirm_below``, and is read back. When
    the quick decode agrees (10 of 10 right there) any margin above 0 is kept.
    """

    scale: float = 1.0
    centre: float = 3.6
    agree_bonus: float = 3.0


def calibrated(margin: float, agreed: bool, calibration: Calibration = Calibration()) -> float:
    z = calibration.scale * (margin - calibration.centre) + (calibration.agree_bonus if agreed else 0.0)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def free_text_confidence(avg_logprob: float, no_speech_prob: float) -> float:
    """For a sentence: exp(avg log-probability) x (1 - no-speech probability), as before."""
    return max(0.0, min(1.0, math.exp(min(avg_logprob, 0.0)) * (1.0 - no_speech_prob)))
