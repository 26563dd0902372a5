"""The phrasing pools of the simulated-citizen corpus, read from tests/conversations/data/*.yml.

Why data files: the corpus is meant to grow by adding what real citizens write, without code
changes (STYLE.md: a conversation corpus as data, run by one driver). Each list is split into
``dev`` (may be read while tuning the dialogue) and ``heldout`` (never used for tuning); a
:class:`Pools` holds one split only, so held-out conversations cannot borrow dev phrasing.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
SPLITS = ("dev", "heldout")
REPORT_TYPES = ("pengaduan", "aspirasi", "permintaan_informasi")


@dataclass(frozen=True)
class Pools:
    split: str
    places: List[Dict[str, Any]]          # {text, region, code, province}
    descriptions: Dict[str, Dict[str, Any]]  # category -> {keywords, pengaduan, aspirasi, permintaan_informasi}
    dates: List[Dict[str, Any]]
    privacy: Dict[str, List[str]]         # level -> phrasings
    greetings: List[str]
    intents: Dict[str, List[str]]         # report type -> "min mau lapor", ...
    type_words: Dict[str, List[str]]
    suffixes: List[str]
    rich_templates: List[str]
    interruptions: Dict[str, List[str]]
    corrections: Dict[str, List[str]]
    replies: Dict[str, List[str]]


@functools.lru_cache(maxsize=None)
def raw(name: str) -> Dict[str, Any]:
    return yaml.safe_load((DATA_DIR / f"{name}.yml").read_text(encoding="utf-8"))


def _pick(node: Dict[str, Any], split: str) -> List[Any]:
    return list(node.get(split) or [])


def _by_key(mapping: Dict[str, Dict[str, Any]], split: str) -> Dict[str, List[Any]]:
    return {key: _pick(node, split) for key, node in mapping.items()}


@functools.lru_cache(maxsize=None)
def load_pools(split: str) -> Pools:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use one of {SPLITS}")
    descriptions = {}
    for category, node in raw("descriptions").items():
        descriptions[category] = {"keywords": list(node["keywords"])}
        for report_type in REPORT_TYPES:
            descriptions[category][report_type] = _pick(node[report_type], split)
    openers = raw("openers")
    interruptions = raw("interruptions")
    return Pools(
        split=split,
        places=_pick(raw("places"), split),
        descriptions=descriptions,
        dates=_pick(raw("dates"), split),
        privacy=_by_key(raw("privacy"), split),
        greetings=_pick(openers["greetings"], split),
        intents=_by_key(openers["intents"], split),
        type_words=_by_key(openers["type_words"], split),
        suffixes=_pick(openers["suffixes"], split),
        rich_templates=_pick(openers["rich_templates"], split),
        interruptions=_by_key(interruptions["interruptions"], split),
        corrections=_by_key(interruptions["corrections"], split),
        replies=_by_key(interruptions["replies"], split),
    )


def all_texts(pools: Pools) -> List[str]:
    """Every phrase of one split, for checking that the two splits never share one."""
    texts: List[str] = [place["text"] for place in pools.places]
    texts += [date["text"] for date in pools.dates]
    for node in pools.descriptions.values():
        for report_type in REPORT_TYPES:
            texts += node[report_type]
    for group in (pools.privacy, pools.intents, pools.type_words, pools.interruptions, pools.corrections,
                  pools.replies):
        for items in group.values():
            texts += items
    return texts + pools.greetings + pools.suffixes + pools.rich_templates
