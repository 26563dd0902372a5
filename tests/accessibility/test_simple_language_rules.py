from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from accessibility.simple_language import check_simple, readability

DOMAIN = Path(__file__).resolve().parents[2] / "bot" / "domain.yml"


def is_simple(variant: dict) -> bool:
    return any(
        condition.get("type") == "slot" and condition.get("name") == "simple_language" and condition.get("value") is True
        for condition in variant.get("condition") or []
    )


@pytest.fixture(scope="module")
def responses() -> dict:
    if not DOMAIN.exists():
        pytest.fail(f"{DOMAIN} does not exist yet")
    return yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["responses"]


def test_every_response_has_a_simple_language_variant(responses):
    missing = [name for name, variants in responses.items() if not any(is_simple(variant) for variant in variants)]
    assert not missing, "responses without a simple_language variant:\n" + "\n".join(missing)


def test_every_simple_variant_follows_the_simple_language_rules(responses):
    problems = []
    for name, variants in responses.items():
        for variant in variants:
            if not is_simple(variant):
                continue
            buttons = variant.get("buttons") or []
            for violation in check_simple(
                variant.get("text") or "", bool(buttons), button_titles=[button["title"] for button in buttons]
            ):
                problems.append(f"{name}: {violation}")
    assert not problems, f"{len(problems)} simple-language violations:\n" + "\n".join(problems)


def test_readability_of_both_variants_is_reported_and_simple_is_plainer(responses):
    simple = [v.get("text") or "" for vs in responses.values() for v in vs if is_simple(v)]
    regular = [v.get("text") or "" for vs in responses.values() for v in vs if not is_simple(v)]
    simple_figures, regular_figures = readability(simple), readability(regular)
    print(f"\nsimple variants:  {simple_figures}\nregular variants: {regular_figures}")
    assert simple_figures.glossary_terms == 0
    assert simple_figures.words_per_sentence <= regular_figures.words_per_sentence
