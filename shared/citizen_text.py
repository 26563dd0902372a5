"""The catalogue of citizen-facing text outside the dialogue (``accessibility/citizen_text.yml``).

Why one catalogue: a status update, "your file is saved" or "the voice note was too long" are
read by the same citizens as the dialogue, so each needs its simple-language variant next to it
and one test that checks them all (tests/accessibility/test_citizen_text.py). The dialogue's own
words stay in ``bot/domain.yml``, where Rasa picks the variant from the ``simple_language`` slot.

Entries are addressed by a dotted key (``status_update.selesai``); values in braces are filled
with :meth:`str.format`. The file is read once per process; it is data, so any layer may read it,
which is why this loader sits in ``shared/`` (the lowest layer): the accessibility layer renders
it, and the status answer (bot/actions/status.py) takes its labels and deadlines from it too.
The file itself stays with the accessibility layer, which owns simple language.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict

import yaml

CATALOGUE_FILE = Path(__file__).resolve().parent.parent / "accessibility" / "citizen_text.yml"


@dataclass(frozen=True)
class Entry:
    """One message in its two forms."""

    key: str
    regular: str
    simple: str

    def text(self, simple_language: bool, **values: Any) -> str:
        template = self.simple if simple_language else self.regular
        return template.format(**values) if values else template


def _flatten(tree: Dict[str, Any], prefix: str = "") -> Dict[str, Entry]:
    entries: Dict[str, Entry] = {}
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if not isinstance(value, dict):
            raise ValueError(f"{CATALOGUE_FILE.name}: {key} must be a mapping")
        if "regular" in value or "simple" in value:
            if not (isinstance(value.get("regular"), str) and isinstance(value.get("simple"), str)):
                raise ValueError(f"{CATALOGUE_FILE.name}: {key} needs both a regular and a simple text")
            entries[key] = Entry(key, value["regular"].strip(), value["simple"].strip())
        else:
            entries.update(_flatten(value, f"{key}."))
    return entries


@functools.lru_cache(maxsize=1)
def catalogue() -> Dict[str, Entry]:
    """Every entry by its dotted key (read once)."""
    return _flatten(yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8")) or {})


def entry(key: str) -> Entry:
    try:
        return catalogue()[key]
    except KeyError:
        raise KeyError(f"{key!r} is not in {CATALOGUE_FILE.name}") from None


def say(key: str, simple_language: bool = False, **values: Any) -> str:
    """The text of ``key`` in the form the citizen's profile asks for."""
    return entry(key).text(simple_language, **values)
