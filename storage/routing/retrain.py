"""Retrain the category model on the project's data plus this deployment's corrections.

The new model replaces the one in use only when it is not worse on any held-out set: the
realistic written held-out, the old held-out, and a held-out part of the corrections themselves
(one in four, chosen by a hash of the text so it is stable from run to run, once there are at
least ``MIN_CORRECTIONS_TO_HOLD_OUT``). Corrections weigh ``CORRECTION_WEIGHT`` times a project
text: they are few, and they are what this deployment's operators decided.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from storage.routing import categories
from storage.routing.quality import Figures, evaluate

CORRECTION_WEIGHT = 3.0
MIN_CORRECTIONS_TO_HOLD_OUT = 8
DEFAULT_TOLERANCE = 0.005


@dataclass(frozen=True)
class RetrainResult:
    before: Dict[str, Figures]
    after: Dict[str, Figures]
    swapped: bool
    reason: str
    corrections_trained: int
    corrections_held_out: int
    model: categories.CategoryModel


def split_corrections(corrections: Sequence[Tuple[str, str]]) -> Tuple[List[Tuple[str, str]], List[Tuple[str, str]]]:
    if len(corrections) < MIN_CORRECTIONS_TO_HOLD_OUT:
        return list(corrections), []
    train, heldout = [], []
    for pair in corrections:
        digest = hashlib.sha256(pair[0].encode("utf-8")).digest()
        (heldout if digest[0] % 4 == 0 else train).append(pair)
    return train, heldout


def heldout_sets(data_dir: Path, corrections_heldout: Sequence[Tuple[str, str]]) -> Dict[str, List[Tuple[str, str]]]:
    return {
        "realistic held-out": categories.realistic_heldout(data_dir),
        "old held-out": categories.old_heldout(data_dir),
        "corrections held-out": list(corrections_heldout),
    }


def retrain(corrections: Sequence[Tuple[str, str]], data_dir: Path = categories.DATA_DIR,
            cache_dir: Optional[Path] = None, tolerance: float = DEFAULT_TOLERANCE,
            swap: bool = True) -> RetrainResult:
    """Train, compare with the model in use on every held-out set, and swap when not worse."""
    directory = Path(cache_dir or categories.default_cache_dir())
    current = categories.get_model(data_dir, directory)
    base = categories.data_fingerprint(categories.training_files(data_dir))
    trained, held = split_corrections(corrections)
    extra_digest = hashlib.sha256("\n".join(f"{code}\t{text}" for text, code in trained).encode()).hexdigest()
    model = categories.train_project_model(
        data_dir, hashlib.sha256((base + extra_digest).encode()).hexdigest(),
        extra=trained, extra_weight=CORRECTION_WEIGHT,
        note=f"project + {len(trained)} correction(s)")
    sets = heldout_sets(data_dir, held)
    before = {name: evaluate(current, examples) for name, examples in sets.items() if examples}
    after = {name: evaluate(model, examples) for name, examples in sets.items() if examples}
    worse = [name for name in after if after[name].accuracy < before[name].accuracy - tolerance]
    if worse:
        reason = "not swapped: worse on " + ", ".join(worse)
        swapped = False
    elif not swap:
        reason = "not swapped: dry run"
        swapped = False
    else:
        categories.store_deployed(directory, model, base)
        reason = "swapped: not worse on any held-out set"
        swapped = True
    return RetrainResult(before, after, swapped, reason, len(trained), len(held), model)
