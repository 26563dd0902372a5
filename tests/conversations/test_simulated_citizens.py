import os
from pathlib import Path

import pytest

from tests.channels.e2e_support import channel_stack
from tests.conversations.driver import run_all, warm_up
from tests.conversations.generator import for_channel, generate
from tests.conversations.report import findings, missed_targets, summarise, table

# A fixed sample of the dev corpus (bench/conversations.py runs all of it, and the held-out set).
REST_SAMPLE = generate("dev")[3::8]
CHANNEL_SAMPLE = ([for_channel(persona, "telegram") for persona in generate("dev")[6::97][:3]]
                  + [for_channel(persona, "sms") for persona in generate("dev")[10::151][:2]])
FINDINGS = Path(os.environ.get("SAPALAPOR_CORPUS_FINDINGS", "/tmp/corpus_findings_ci.md"))


@pytest.fixture(scope="module")
def outcomes(trained_model, tmp_path_factory):
    with channel_stack(trained_model, tmp_path_factory.mktemp("conversations")) as stack:
        rasa_url = stack["servers"].rasa_url
        warm_up(rasa_url)
        results = {"ci rest": run_all(REST_SAMPLE, rasa_url, stack["database"], run_id="ci-rest"),
                   "ci channels": run_all(CHANNEL_SAMPLE, rasa_url, stack["database"], stack=stack,
                                          run_id="ci-channels")}
    summaries = {name: summarise(items) for name, items in results.items()}
    FINDINGS.write_text(findings(results, summaries), encoding="utf-8")
    print("\n" + table(summaries))
    return results, summaries


def test_the_sample_covers_rich_openers_interruptions_and_both_channels():
    assert len(REST_SAMPLE) == 40
    assert sum(persona.rich for persona in REST_SAMPLE) >= 5
    assert sum(bool(persona.interrupts) for persona in REST_SAMPLE) >= 10
    assert {persona.channel for persona in CHANNEL_SAMPLE} == {"telegram", "sms"}
    assert len(CHANNEL_SAMPLE) == 5


@pytest.mark.parametrize("name", ["ci rest", "ci channels"])
def test_simulated_citizens_file_their_reports_without_loops_or_losses(outcomes, name):
    results, summaries = outcomes

    missed = missed_targets(summaries[name])

    assert not missed, f"{name}: {'; '.join(missed)} (transcripts by failure cause: {FINDINGS})"


def test_no_filed_report_has_the_wrong_privacy_level(outcomes):
    results, _ = outcomes

    wrong = [f"{o.persona.pid}: {o.wrong['privacy']}" for items in results.values() for o in items
             if "privacy" in o.wrong]

    assert wrong == []
