"""The names of the responses in bot/domain.yml, read once per action-server process.

Why not the ``domain`` of each action call: Rasa sends its whole domain (46 kB of JSON, about
0.8 ms to write in Rasa and 0.5 ms to read here) only to the actions that need it
(``enable_selective_domain`` in endpoints.yml, issue 18), and the only thing our actions other
than the form validators read from it is which responses exist, to pick a variant of a question
or of the help text. That list is fixed per build: the model is trained from this same file.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import FrozenSet

DOMAIN_FILE = Path(__file__).resolve().parent.parent / "domain.yml"


@functools.lru_cache(maxsize=1)
def response_names() -> FrozenSet[str]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with DOMAIN_FILE.open(encoding="utf-8") as handle:
        domain = yaml.load(handle, Loader=loader) or {}
    return frozenset(domain.get("responses") or {})


def has_response(name: str) -> bool:
    return name in response_names()
