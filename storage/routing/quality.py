"""Figures for a category model on held-out texts: what the benchmark and ``retrain`` print.

One place computes them so the numbers a retrain compares are the numbers the benchmark shows.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

# Reliability table bins over the top suggestion's confidence: [low, high).
BINS: Tuple[Tuple[float, float], ...] = (
    (0.0, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 1.01),
)


@dataclass(frozen=True)
class ReliabilityRow:
    low: float
    high: float
    count: int
    mean_confidence: float
    accuracy: float


@dataclass(frozen=True)
class Figures:
    n: int
    accuracy: float
    macro_f1: float
    top3: float
    confident_share: float
    confident_precision: float
    threshold: float
    reliability: Tuple[ReliabilityRow, ...] = field(default_factory=tuple)

    def line(self) -> str:
        return (f"n={self.n} accuracy={self.accuracy:.3f} macro_f1={self.macro_f1:.3f} top3={self.top3:.3f} "
                f"confident={self.confident_share:.3f} right_when_confident={self.confident_precision:.3f}")


def evaluate(model, examples: Sequence[Tuple[str, str]]) -> Figures:
    """Accuracy, macro F1, top-3, confident share and precision, reliability rows."""
    from sklearn.metrics import f1_score

    if not examples:
        return Figures(0, 0.0, 0.0, 0.0, 0.0, 0.0, model.calibration.threshold)
    texts = [text for text, _ in examples]
    gold = [code for _, code in examples]
    all_scores = model.scores_many(texts)
    predicted = [scores[0].code for scores in all_scores]
    top3 = sum(code in [s.code for s in scores[:3]] for code, scores in zip(gold, all_scores))
    confident = [model.is_confident(scores) for scores in all_scores]
    right = [p == g for p, g in zip(predicted, gold)]
    confident_right = sum(r for r, c in zip(right, confident) if c)
    rows: List[ReliabilityRow] = []
    for low, high in BINS:
        inside = [(scores[0].confidence, r) for scores, r in zip(all_scores, right)
                  if low <= scores[0].confidence < high]
        if inside:
            rows.append(ReliabilityRow(low, min(high, 1.0), len(inside),
                                       sum(c for c, _ in inside) / len(inside),
                                       sum(r for _, r in inside) / len(inside)))
        else:
            rows.append(ReliabilityRow(low, min(high, 1.0), 0, 0.0, 0.0))
    n = len(examples)
    return Figures(
        n=n,
        accuracy=sum(right) / n,
        macro_f1=float(f1_score(gold, predicted, average="macro", zero_division=0)),
        top3=top3 / n,
        confident_share=sum(confident) / n,
        confident_precision=confident_right / sum(confident) if any(confident) else 0.0,
        threshold=model.calibration.threshold,
        reliability=tuple(rows),
    )


def reliability_table(figures: Figures) -> str:
    lines = ["  confidence   texts  mean conf  right"]
    for row in figures.reliability:
        if row.count:
            lines.append(f"  {row.low:.2f}-{row.high:.2f}  {row.count:6d}  {row.mean_confidence:9.3f}  {row.accuracy:5.3f}")
        else:
            lines.append(f"  {row.low:.2f}-{row.high:.2f}  {0:6d}          -      -")
    return "\n".join(lines)


# --- addresses -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddressFigures:
    n: int
    exact: int       # unique and the very code
    right: int       # unique and the code or a parent inside the same kabupaten/kota (exact included)
    wrong: int       # unique but somewhere else: the worst outcome, a silent misroute
    ambiguous: int   # the form asks
    unknown: int
    misses: Tuple[str, ...] = ()


def load_addresses(path=None) -> List[Tuple[str, str]]:
    import yaml
    from pathlib import Path

    from storage.routing.categories import DATA_DIR

    raw = yaml.safe_load(Path(path or DATA_DIR / "addresses_heldout.yml").read_text(encoding="utf-8"))
    return [(str(entry["address"]), str(entry["code"])) for entry in raw["addresses"]]


def evaluate_addresses(entries: Sequence[Tuple[str, str]]) -> AddressFigures:
    from storage.routing.regions import AMBIGUOUS, UNIQUE, resolve_region

    exact = right = wrong = ambiguous = unknown = 0
    misses: List[str] = []
    for text, code in entries:
        resolution = resolve_region(text)
        if resolution.status == UNIQUE:
            got = resolution.best.code
            inside = (code == got or code.startswith(got + ".")) and got.count(".") >= min(1, code.count("."))
            exact += got == code
            right += inside
            wrong += not inside
            if got != code:
                misses.append(f"  {'less deep' if inside else 'WRONG'}: {text!r} -> {got} (want {code})")
        elif resolution.status == AMBIGUOUS:
            ambiguous += 1
            misses.append(f"  ambiguous: {text!r} -> {[c.code for c in resolution.candidates]} (want {code})")
        else:
            unknown += 1
            misses.append(f"  unknown: {text!r} (want {code})")
    return AddressFigures(len(entries), exact, right, wrong, ambiguous, unknown, tuple(misses))
