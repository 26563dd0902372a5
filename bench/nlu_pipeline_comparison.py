"""Compare our lean NLU pipeline with the one `rasa init` creates, on the held-out set.

Why: issue 6 asks for the pipeline to be chosen by measurement: throughput comes from a cheap
pipeline, but intent accuracy on unseen text must stay at or above 0.90. This trains an
NLU-only model for each pipeline on dialogs/nlu.yml, parses every held-out utterance in-process
through rasa.core.agent (the same code path the Rasa server uses) and prints one table:
accuracy and macro F1 (fallback predictions reverted, as `rasa test nlu` does), how often the
FallbackClassifier would have sent the user to the menu, training time and parse latency.

Run: .venv/bin/python bench/nlu_pipeline_comparison.py [--only lean|default] [--keep DIR]
It trains two models: on two busy shared cores the lean one took 1.5 min, DIET 17.6 min.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

NLU_DATA = ROOT / "dialogs" / "nlu.yml"
HELDOUT = ROOT / "dialogs" / "eval" / "nlu_heldout.yml"
LEAN_CONFIG = ROOT / "bot" / "config.yml"

# What `rasa init` trains with: its config.yml leaves the pipeline empty, so Rasa fills in this
# default (rasa/engine/recipes/config_files/default_config.yml), here with our language.
DEFAULT_CONFIG = """\
recipe: default.v1
assistant_id: rasa_init_default
language: id
pipeline:
  - name: WhitespaceTokenizer
  - name: RegexFeaturizer
  - name: LexicalSyntacticFeaturizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: DIETClassifier
    epochs: 100
  - name: EntitySynonymMapper
  - name: ResponseSelector
    epochs: 100
  - name: FallbackClassifier
    threshold: 0.3
    ambiguity_threshold: 0.1
policies:
  - name: MemoizationPolicy
  - name: RulePolicy
"""


def heldout_examples(path: Path = HELDOUT) -> List[Tuple[str, str]]:
    """(text, intent) pairs, read with Rasa's own reader so the format is checked too."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [(example.get("text"), example.get("intent")) for example in data.intent_examples]


def train(config_path: Path, out_dir: Path, name: str) -> Tuple[Path, float]:
    from rasa.model_training import train_nlu

    started = time.perf_counter()
    model = train_nlu(
        config=str(config_path), nlu_data=str(NLU_DATA), output=str(out_dir), fixed_model_name=name
    )
    elapsed = time.perf_counter() - started
    if not model:
        raise RuntimeError(f"training with {config_path} produced no model")
    return Path(model), elapsed


async def evaluate(model_path: Path, examples: List[Tuple[str, str]]) -> Dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.nlu.classifiers import fallback_classifier
    from sklearn.metrics import accuracy_score, f1_score

    agent = Agent.load(str(model_path))
    await agent.parse_message("halo")  # warm-up: first parse builds lazy structures
    latencies: List[float] = []
    predicted: List[str] = []
    fallbacks = 0
    for text, _ in examples:
        started = time.perf_counter()
        result = await agent.parse_message(text)
        latencies.append((time.perf_counter() - started) * 1000)
        if fallback_classifier.is_fallback_classifier_prediction(result):
            fallbacks += 1
            result = fallback_classifier.undo_fallback_prediction(result)
        predicted.append(result["intent"]["name"])
    expected = [intent for _, intent in examples]
    latencies.sort()
    return {
        "accuracy": accuracy_score(expected, predicted),
        "macro_f1": f1_score(expected, predicted, average="macro", zero_division=0),
        "fallback_rate": fallbacks / len(examples),
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[min(len(latencies) - 1, int(round(0.95 * (len(latencies) - 1))))],
        "errors": [
            (text, want, got) for (text, want), got in zip(examples, predicted) if want != got
        ],
    }


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["lean", "default"], help="measure one pipeline only")
    parser.add_argument("--keep", type=Path, help="keep the trained models in this folder")
    parser.add_argument("--show-errors", action="store_true", help="list misclassified utterances")
    args = parser.parse_args(argv)
    from rasa.utils.log_utils import configure_structlog

    # Debug-level parse logs would be measured as parse latency.
    configure_structlog(logging.WARNING)
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("rasa", "tensorflow", "absl"):
        logging.getLogger(noisy).setLevel(logging.ERROR)

    examples = heldout_examples()
    work = Path(args.keep or tempfile.mkdtemp(prefix="nlu-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    default_config = work / "rasa_init_config.yml"
    default_config.write_text(DEFAULT_CONFIG, encoding="utf-8")
    pipelines = {
        "lean": ("lean (bot/config.yml)", LEAN_CONFIG),
        "default": ("rasa init default (DIET)", default_config),
    }
    if args.only:
        pipelines = {args.only: pipelines[args.only]}

    rows = []
    for name, (label, config) in pipelines.items():
        print(f"training {label} ...", file=sys.stderr, flush=True)
        model, train_seconds = train(config, work, name)
        metrics = asyncio.run(evaluate(model, examples))
        rows.append((label, train_seconds, metrics))
        if args.show_errors:
            for text, want, got in metrics["errors"]:
                print(f"  [{label}] {text!r}: expected {want}, got {got}", file=sys.stderr)

    print(f"\nheld-out set: {len(examples)} utterances, {len({i for _, i in examples})} intents")
    header = f"{'pipeline':28} {'accuracy':>8} {'macro F1':>8} {'fallback':>8} {'train s':>8} {'p50 ms':>7} {'p95 ms':>7}"
    print(header)
    print("-" * len(header))
    for label, train_seconds, m in rows:
        print(
            f"{label:28} {m['accuracy']:8.3f} {m['macro_f1']:8.3f} {m['fallback_rate']:8.3f} "
            f"{train_seconds:8.1f} {m['p50_ms']:7.2f} {m['p95_ms']:7.2f}"
        )
    if len(rows) == 2:
        (_, lean_train, lean), (_, base_train, base) = rows
        print(
            f"\nlean vs default: train time x{base_train / lean_train:.1f} faster, "
            f"p50 parse x{base['p50_ms'] / lean['p50_ms']:.1f} faster, "
            f"accuracy {lean['accuracy'] - base['accuracy']:+.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
