"""Generate simulated-citizen personas from the pools, deterministically.

``generate(split, count, seed)`` always returns the same personas for the same arguments and
data files. Dev conversations use seeds from ``DEV_SEED`` and only dev pool items; held-out
ones use ``HELDOUT_SEED`` and only held-out items (tests/conversations/data/*.yml say which),
so held-out results measure phrasing the dialogue was never tuned on. Shares below are chosen
to look like a public complaint line: mostly complaints, a fifth of first messages already
saying what, where and when, some typing, a third interrupting.
"""
from __future__ import annotations

import random
import re
from typing import Dict, List, Optional

from tests.conversations.citizen import Interrupt, Persona
from tests.conversations.pools import Pools, load_pools

DEV_SEED = 1208
HELDOUT_SEED = 907301
DEV_COUNT = 320
HELDOUT_COUNT = 120

TYPE_SHARES = {"pengaduan": 0.70, "aspirasi": 0.12, "permintaan_informasi": 0.18}
PRIVACY_SHARES = {"biasa": 0.4, "rahasia": 0.3, "anonim": 0.3}
HABIT_SHARES = {"click": 0.35, "number": 0.25, "title": 0.15, "words": 0.25}
INTERRUPT_SHARES = {"cancel": 0.25, "help": 0.15, "repeat": 0.15, "simple": 0.15, "status": 0.15, "voice": 0.15}
INTERRUPT_AT = ("description", "location", "date", "privacy", "readback")
DETAILS = ["sudah lama dibiarkan dan warga sangat resah", "sudah pernah dilaporkan ke rt tapi belum ada tindakan",
           "banyak warga yang terdampak, termasuk anak-anak dan lansia", "kami berharap segera ada perbaikan"]
ABBREVIATIONS = {"yang": "yg", "tidak": "gak", "sudah": "udah", "dengan": "dgn", "untuk": "utk", "saya": "sy",
                 "karena": "krn", "bagaimana": "gmn", "sekali": "bgt", "tapi": "tp", "sama": "sm"}
# Words that steer the conversation: a typo must not turn an answer into one of them.
PROTECTED = re.compile(r"^(batal|ulang|bantu|petugas|status|suara|teks|lanjut|jadi|ya|tidak)")


def _weighted(rng: random.Random, shares: Dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def with_typos(text: str, rate: float, rng: random.Random) -> str:
    """Informal typing: abbreviations, a swapped or dropped letter, now and then."""
    if rate <= 0:
        return text
    words = text.split(" ")
    for index, word in enumerate(words):
        lowered = word.lower()
        if lowered in ABBREVIATIONS and rng.random() < rate * 4:
            words[index] = ABBREVIATIONS[lowered]
        elif len(word) >= 6 and word.isalpha() and not PROTECTED.match(lowered) and rng.random() < rate:
            at = rng.randrange(1, len(word) - 2)
            if rng.random() < 0.5:
                words[index] = word[:at] + word[at + 1] + word[at] + word[at + 2:]
            else:
                words[index] = word[:at] + word[at + 1:]
    return " ".join(words)


def region_answer(region: str, rng: random.Random) -> str:
    lowered = region.lower().replace("kota administrasi ", "").replace("kabupaten administrasi ", "")
    if lowered.startswith("kabupaten "):
        return rng.choice(["kab ", "kabupaten ", "kab. "]) + lowered[len("kabupaten "):]
    return lowered


def _description(pools: Pools, rng: random.Random, report_type: str) -> tuple:
    categories = [code for code, node in pools.descriptions.items() if node[report_type]]
    category = rng.choice(categories)
    return category, rng.choice(pools.descriptions[category][report_type])


def _date_for_rich(pools: Pools, rng: random.Random) -> Dict:
    known = [item for item in pools.dates if not item.get("unknown")]
    return rng.choice(known)


def _opener(pools: Pools, rng: random.Random, report_type: str, description: str, place: Dict, date: Dict,
            greeting: str, rich: bool) -> List[str]:
    intent = rng.choice(pools.intents[report_type])
    if rich:
        template = rng.choice(pools.rich_templates)
        text = template.format(greeting=greeting, intent=intent, desc=description, place=place["text"],
                               date=date.get("inline", date["text"]), suffix=rng.choice(pools.suffixes))
        return [re.sub(r"\s+", " ", text).strip(" ,")]
    if report_type == "permintaan_informasi" and description.endswith("?") and rng.random() < 0.6:
        return [description]  # a how-to question as the very first message
    shape = rng.random()
    if shape < 0.45 and not greeting.startswith("/"):
        return [f"{greeting} {intent}".strip()]
    if shape < 0.7:
        return [intent]
    if shape < 0.85:
        return [greeting, intent]
    return [greeting]


def _interrupts(pools: Pools, rng: random.Random, channel_safe: bool) -> List[Interrupt]:
    count = rng.choices([0, 1, 2], weights=[0.5, 0.37, 0.13])[0]
    chosen: List[Interrupt] = []
    places = list(INTERRUPT_AT)
    rng.shuffle(places)
    for at in places[:count]:
        kind = _weighted(rng, INTERRUPT_SHARES)
        texts = [text for text in pools.interruptions[kind] if not (channel_safe and text == "/suara")]
        if not texts:
            continue
        interrupt = Interrupt(kind=kind, at=at, text=rng.choice(texts))
        if kind == "cancel":
            interrupt.follow = rng.choice(pools.interruptions["cancel_continue"])
            interrupt.answer_instead = at not in ("readback",) and rng.random() < 0.25
        chosen.append(interrupt)
    return chosen


def _multi(seed: int) -> str:
    # Its own generator: adding a kind must not reshuffle every other choice of the corpus.
    return random.Random(seed + 7).choice(["place_date", "story_place", "date_privacy"])


def persona(pools: Pools, seed: int, index: int) -> Persona:
    rng = random.Random(seed)
    report_type = _weighted(rng, TYPE_SHARES)
    category, description = _description(pools, rng, report_type)
    source = description
    place = rng.choice(pools.places)
    rich = report_type == "pengaduan" and rng.random() < 0.25
    date = _date_for_rich(pools, rng) if rich else rng.choice(pools.dates)
    privacy = _weighted(rng, PRIVACY_SHARES)
    style = rng.choices(["terse", "normal", "chatty"], weights=[0.25, 0.55, 0.2])[0]
    typo_rate = rng.choices([0.0, 0.04, 0.12], weights=[0.5, 0.35, 0.15])[0]
    habit = _weighted(rng, HABIT_SHARES)
    greeting = rng.choice([item for item in pools.greetings if not (rich and item.startswith("/"))])
    if style == "terse" and not rich and "," in description:
        description = description.split(",")[0]
    if style == "chatty":
        # A question gets "terima kasih", not "tolong segera diperbaiki".
        asking = report_type == "permintaan_informasi"
        suffixes = [text for text in pools.suffixes if not (asking and re.search(r"diperbaiki|ditindaklanjuti", text))]
        description = f"{description}, {rng.choice(suffixes or pools.suffixes)}"
    description = with_typos(description, typo_rate, rng)
    openers = _opener(pools, rng, report_type, description, place, date, greeting, rich)
    slip = None
    if not rich and rng.random() < 0.12:
        field_name = rng.choice(["incident_date", "location"])
        if field_name == "incident_date":
            others = [item for item in pools.dates if item["text"] != date["text"] and not item.get("unknown")]
            value = rng.choice(others)["text"]
        else:
            value = rng.choice([item for item in pools.places if item["text"] != place["text"]])["text"]
        slip = {"field": field_name, "value": value, "phrase": rng.choice(pools.corrections[field_name])}
    return Persona(
        pid=f"{pools.split}-{index:03d}",
        split=pools.split,
        channel="rest",
        report_type=report_type,
        category=category,
        category_keywords=list(pools.descriptions[category]["keywords"]),
        description=description,
        description_source=source,
        detail=with_typos(rng.choice(DETAILS), typo_rate, rng),
        place=place,
        region_answer=region_answer(place["region"], rng),
        date=date,
        privacy=privacy,
        privacy_text=rng.choice(pools.privacy[privacy]),
        openers=openers,
        rich=rich,
        style=style,
        button_habit=habit,
        raw_numbers=habit == "number" and rng.random() < 0.15,
        attentive=rng.random() < 0.7,
        multi=_multi(seed) if not rich and rng.random() < 0.15 else None,
        interrupts=_interrupts(pools, rng, channel_safe=False),
        slip=slip,
        replies=dict(pools.replies),
        type_words=list(pools.type_words[report_type]),
        intent=rng.choice(pools.intents[report_type]),
        seed=seed,
    )


def generate(split: str = "dev", count: Optional[int] = None, seed: Optional[int] = None) -> List[Persona]:
    pools = load_pools(split)
    base = seed if seed is not None else (DEV_SEED if split == "dev" else HELDOUT_SEED)
    count = count if count is not None else (DEV_COUNT if split == "dev" else HELDOUT_COUNT)
    return [persona(pools, base * 1000 + index, index) for index in range(count)]


def for_channel(item: Persona, channel: str) -> Persona:
    """The same persona on another channel: no raw digits, no voice replies switched on."""
    from dataclasses import replace

    interrupts = [Interrupt(i.kind, i.at, "/teks" if i.text == "/suara" else i.text, i.follow, i.answer_instead)
                  for i in item.interrupts]
    return replace(item, channel=channel, raw_numbers=False, interrupts=interrupts,
                   pid=f"{item.pid}-{channel}")
