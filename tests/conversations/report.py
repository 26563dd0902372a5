"""Summaries of a corpus run: the table, the targets, the worst transcripts by failure cause."""
from __future__ import annotations

import collections
import statistics
from typing import Dict, List, Sequence

from tests.conversations.driver import RICH_TURN_TARGET, Outcome

TARGETS = {"completion": 0.98, "loops": 0, "lost": 0, "wrong privacy": 0, f"rich > {RICH_TURN_TARGET} turns": 0}


def _percentile(values: List[int], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(share * (len(ordered) - 1)))))
    return float(ordered[index])


def summarise(outcomes: Sequence[Outcome]) -> Dict[str, float]:
    turns = [outcome.turns_to_file for outcome in outcomes if outcome.filed]
    rich = [outcome for outcome in outcomes if outcome.plain_rich]
    return {
        "conversations": len(outcomes),
        "completion": sum(outcome.filed for outcome in outcomes) / len(outcomes) if outcomes else float("nan"),
        "median turns": statistics.median(turns) if turns else float("nan"),
        "p95 turns": _percentile(turns, 0.95),
        "loops": sum(outcome.loops > 0 for outcome in outcomes),
        "lost": sum(outcome.lost > 0 for outcome in outcomes),
        "wrong privacy": sum("privacy" in outcome.wrong for outcome in outcomes),
        "wrong fields": sum(bool(outcome.wrong) for outcome in outcomes),
        f"rich > {RICH_TURN_TARGET} turns": sum(outcome.rich_too_long for outcome in outcomes),
        "rich median turns": statistics.median([o.turns_to_file for o in rich if o.filed]) if any(
            o.filed for o in rich) else float("nan"),
        "errors": sum(outcome.error is not None for outcome in outcomes),
    }


def missed_targets(summary: Dict[str, float]) -> List[str]:
    missed = []
    if not summary["completion"] >= TARGETS["completion"]:
        missed.append(f"completion {summary['completion']:.3f} < {TARGETS['completion']}")
    for name in ("loops", "lost", "wrong privacy", f"rich > {RICH_TURN_TARGET} turns", "errors"):
        if summary.get(name):
            missed.append(f"{name}: {summary[name]}")
    return missed


COLUMNS = ["conversations", "completion", "median turns", "p95 turns", "loops", "lost", "wrong privacy",
           "wrong fields", f"rich > {RICH_TURN_TARGET} turns", "rich median turns", "errors"]


def table(rows: Dict[str, Dict[str, float]]) -> str:
    header = ["set"] + COLUMNS
    lines = [header]
    for name, summary in rows.items():
        cells = [name]
        for column in COLUMNS:
            value = summary.get(column)
            cells.append(f"{value:.3f}" if column == "completion" else
                         (f"{value:g}" if isinstance(value, float) else str(value)))
        lines.append(cells)
    lines.append(["target", "", f">= {TARGETS['completion']}", "", "", "0", "0", "0", "", "0", "", "0"])
    widths = [max(len(str(line[index])) for line in lines) for index in range(len(header))]
    return "\n".join(" | ".join(str(cell).ljust(width) for cell, width in zip(line, widths)) for line in lines)


def by_cause(outcomes: Sequence[Outcome]) -> Dict[str, List[Outcome]]:
    groups: Dict[str, List[Outcome]] = collections.defaultdict(list)
    for outcome in outcomes:
        for cause in outcome.causes():
            groups[cause].append(outcome)
    return dict(sorted(groups.items(), key=lambda item: -len(item[1])))


def transcript(outcome: Outcome) -> str:
    persona = outcome.persona
    head = (f"#### {persona.pid} ({persona.channel}) filed={outcome.filed} turns={outcome.turns_to_file or outcome.user_turns}"
            f" loops={outcome.loops} lost={outcome.lost}\n")
    lines = [head, f"persona: {persona.summary()}", ""]
    if outcome.wrong:
        lines.append(f"wrong stored fields: {outcome.wrong}")
    if outcome.notes:
        lines.append(f"notes: {outcome.notes}")
    if outcome.error:
        lines.append(f"error: {outcome.error}")
    lines.append("```")
    lines.extend(outcome.transcript)
    lines.append("```")
    return "\n".join(lines)


def findings(results: Dict[str, Sequence[Outcome]], summaries: Dict[str, Dict[str, float]], worst_per_cause: int = 3,
             detailed: Sequence[str] = ("dev rest", "dev telegram", "dev sms", "ci rest", "ci channels")) -> str:
    """Markdown: the table, then per set the failure causes with counts and the worst transcripts.

    Only the sets in ``detailed`` show transcripts: held-out conversations are reported as
    counts, so nobody tunes the dialogue on them.
    """
    parts = ["# Simulated-citizen corpus: findings", "",
             "Made by tests/conversations (bench/conversations.py, or the CI test). Each transcript line is",
             "`[the question the citizen recognised] citizen: what it sent (why)`, then the bot's messages",
             "with their buttons in brackets. Causes: *not filed* (loop = the same bot text ending three",
             "turns in a row), *lost* (the report in progress emptied without a yes to cancelling), *wrong X*",
             "(the stored report differs from what the persona said: type, privacy, date outside what the",
             "phrase means, region outside the persona's kabupaten/kota, description not the persona's",
             "story), *rich opener > 4 turns* (a first message saying what/where/when, no interruptions).",
             "", "```", table(summaries), "```", ""]
    for name, outcomes in results.items():
        groups = by_cause(outcomes)
        parts.append(f"## {name}: {len(outcomes)} conversations, {sum(bool(o.causes()) for o in outcomes)} with a failure")
        parts.append("")
        for cause, members in groups.items():
            parts.append(f"- {cause}: {len(members)}")
        parts.append("")
        if name not in detailed:
            parts.append("(held-out: counts only, transcripts are not shown so they are never tuned on)")
            parts.append("")
            continue
        shown = set()
        for cause, members in groups.items():
            parts.append(f"### {cause} ({len(members)})")
            parts.append("")
            for outcome in sorted(members, key=lambda item: -item.score())[:worst_per_cause]:
                if outcome.persona.pid in shown:
                    parts.append(f"(see {outcome.persona.pid} above)")
                    continue
                shown.add(outcome.persona.pid)
                parts.append(transcript(outcome))
                parts.append("")
    return "\n".join(parts)
