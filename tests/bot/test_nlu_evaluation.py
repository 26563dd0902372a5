from __future__ import annotations

import json
import os
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest

from bot.rasa_project import DOMAIN, ROOT, rasa_executable

NLU_DATA = ROOT / "dialogs" / "nlu.yml"
HELDOUT = ROOT / "dialogs" / "eval" / "nlu_heldout.yml"
INTENTS = {
    "greet", "goodbye", "affirm", "deny", "file_complaint", "file_aspiration",
    "request_information", "check_status", "ask_help", "choose_voice",
    "choose_simple_language", "request_human", "cancel", "repeat",
}
MIN_TRAINING_EXAMPLES = 25
MIN_HELDOUT_EXAMPLES = 20
MIN_ACCURACY = 0.90


def examples_by_intent(path: Path) -> Dict[str, List[str]]:
    from rasa.shared.nlu.training_data.loading import load_data

    grouped: Dict[str, List[str]] = {}
    for example in load_data(str(path)).intent_examples:
        grouped.setdefault(example.get("intent"), []).append(example.get("text"))
    return grouped


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w?]+", " ", text.lower()).split())


def rasa_env() -> Dict[str, str]:
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="module")
def training() -> Dict[str, List[str]]:
    return examples_by_intent(NLU_DATA)


@pytest.fixture(scope="module")
def heldout() -> Dict[str, List[str]]:
    return examples_by_intent(HELDOUT)


@pytest.fixture(scope="module")
def intent_report(tmp_path_factory, trained_model) -> dict:
    # The full model trained once per run (tests/conftest.py) holds the NLU pipeline too.
    out = tmp_path_factory.mktemp("nlu-eval")
    subprocess.run(
        [
            rasa_executable(), "test", "nlu",
            "--model", str(trained_model),
            "--nlu", str(HELDOUT),
            "--out", str(out),
            "--domain", str(DOMAIN),
            "--no-plot",
        ],
        cwd=ROOT, env=rasa_env(), check=True,
    )
    return json.loads((out / "intent_report.json").read_text(encoding="utf-8"))


def test_training_data_uses_exactly_the_fourteen_intents(training):
    assert set(training) == INTENTS


def test_every_intent_has_at_least_25_training_examples(training):
    too_few = {intent: len(texts) for intent, texts in training.items() if len(texts) < MIN_TRAINING_EXAMPLES}
    assert too_few == {}


def test_no_training_example_is_repeated_across_case_or_punctuation(training):
    counts = Counter(normalised(text) for texts in training.values() for text in texts)
    assert [text for text, count in counts.items() if count > 1] == []


def test_heldout_set_covers_every_intent_with_at_least_20_examples(heldout):
    assert set(heldout) == INTENTS
    too_few = {intent: len(texts) for intent, texts in heldout.items() if len(texts) < MIN_HELDOUT_EXAMPLES}
    assert too_few == {}


def test_no_heldout_utterance_appears_in_the_training_data(training, heldout):
    seen = {normalised(text) for texts in training.values() for text in texts}
    leaked = [text for texts in heldout.values() for text in texts if normalised(text) in seen]
    assert leaked == []


def test_intent_accuracy_on_the_heldout_set_is_at_least_0_90(intent_report, capsys):
    accuracy = intent_report["accuracy"]
    macro_f1 = intent_report["macro avg"]["f1-score"]
    with capsys.disabled():  # the figures belong in the CI log, passed or not
        print(f"\nNLU held-out evaluation: intent accuracy {accuracy:.3f}, macro F1 {macro_f1:.3f}")
        for intent in sorted(INTENTS):
            scores = intent_report[intent]
            print(f"  {intent:24} f1 {scores['f1-score']:.3f}  support {scores['support']}")
    assert accuracy >= MIN_ACCURACY
