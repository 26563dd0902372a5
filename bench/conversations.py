"""Issue 12 item 7: every simulated-citizen conversation, dev and held-out, and the table.

    .venv/bin/python -m bench.conversations                 # all: 320 dev + 120 held-out (REST),
                                                            # plus a Telegram and SMS sample
    .venv/bin/python -m bench.conversations --dev 40 --heldout 0 --channels 4   # a quick look

Starts the real action server, Rasa server and channel gateway (with the loopback Telegram and
Twilio fakes, tests/channels/e2e_support.py), plays each persona (tests/conversations), prints
the table (completion, median and p95 user turns until filed, loops, lost reports, wrong privacy,
wrong fields, rich openers over 4 turns) and writes the worst transcripts, grouped by failure
cause, to ``--findings`` (dev only: held-out sets are reported as counts, never as transcripts,
so they are not tuned on). Exit status 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import tempfile
import time
from pathlib import Path


def _environment(workdir: Path) -> None:
    """What tests/conftest.py sets, for a run outside pytest: nothing touches the developer's data/."""
    data = workdir / "data"
    data.mkdir(parents=True, exist_ok=True)
    home = os.environ.get("SAPALAPOR_HOME") or str(Path.home() / ".cache" / "sapalapor")
    os.environ.update({
        "SAPALAPOR_DATA_DIR": str(data),
        "SAPALAPOR_DATABASE_URL": f"sqlite:///{data / 'sapalapor.db'}",
        "SAPALAPOR_TRACKER_URL": f"sqlite:///{data / 'tracker.db'}",
        "SAPALAPOR_IDENTITY_KEY": os.environ.get("SAPALAPOR_IDENTITY_KEY") or "bench-" + secrets.token_hex(16),
        "SAPALAPOR_MODEL_DIR": os.environ.get("SAPALAPOR_MODEL_DIR") or str(Path(home) / "models"),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "SAPALAPOR_STT_WARM_UP": "false",
    })


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dev", type=int, default=None, help="dev conversations through REST (default: all 320)")
    parser.add_argument("--heldout", type=int, default=None, help="held-out conversations (default: all 120)")
    parser.add_argument("--channels", type=int, default=10,
                        help="dev personas replayed on each of Telegram and SMS (held-out: half as many)")
    parser.add_argument("--workers", type=int, default=2, help="REST conversations at a time")
    parser.add_argument("--findings", default="/tmp/corpus_findings.md")
    parser.add_argument("--transcripts", default=None, help="every transcript (default: next to --findings)")
    args = parser.parse_args(argv)

    # SIGTERM (timeout, Ctrl+C from a wrapper) must still stop the servers this run started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    workdir = Path(tempfile.mkdtemp(prefix="sapalapor-conversations-"))
    _environment(workdir)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bot.rasa_project import ensure_model
    from tests.channels.e2e_support import channel_stack
    from tests.conversations.driver import run_all, warm_up
    from tests.conversations.generator import for_channel, generate
    from tests.conversations.report import findings, missed_targets, summarise, table, transcript

    dev = generate("dev", args.dev)
    heldout = generate("heldout", args.heldout)
    sets = {"dev rest": dev, "heldout rest": heldout}
    if args.channels:
        sample = dev[:: max(1, len(dev) // args.channels)][: args.channels]
        held_sample = heldout[:: max(1, len(heldout) // max(1, args.channels // 2))][: args.channels // 2]
        sets["dev telegram"] = [for_channel(item, "telegram") for item in sample]
        sets["dev sms"] = [for_channel(item, "sms") for item in sample]
        sets["heldout channels"] = ([for_channel(item, "telegram") for item in held_sample]
                                    + [for_channel(item, "sms") for item in held_sample])
    model = ensure_model()
    print(f"model {model.name}; {sum(map(len, sets.values()))} conversations; work dir {workdir}", flush=True)
    results, summaries = {}, {}
    started = time.monotonic()
    with channel_stack(model, workdir / "stack") as stack:
        rasa_url = stack["servers"].rasa_url
        print(f"warm-up: {warm_up(rasa_url):.0f} s", flush=True)
        for name, personas in sets.items():
            if not personas:
                continue
            begun = time.monotonic()
            results[name] = run_all(personas, rasa_url, stack["database"], stack=stack, run_id=f"{name}-{int(begun)}",
                                    workers=args.workers)
            summaries[name] = summarise(results[name])
            print(f"{name}: {len(personas)} conversations in {time.monotonic() - begun:.0f} s", flush=True)
            Path(args.findings).write_text(findings(results, summaries), encoding="utf-8")  # so far
    print()
    print(table(summaries))
    print(f"\n{time.monotonic() - started:.0f} s in all")
    findings_path = Path(args.findings)
    findings_path.write_text(findings(results, summaries), encoding="utf-8")
    every = Path(args.transcripts) if args.transcripts else findings_path.with_name(findings_path.stem + "_all.md")
    every.write_text("\n\n".join(transcript(outcome) for name, outcomes in results.items()
                                 if name.startswith("dev") for outcome in outcomes), encoding="utf-8")
    private = workdir / "heldout_transcripts.md"  # for checking the simulator itself, never for tuning
    private.write_text("\n\n".join(transcript(outcome) for name, outcomes in results.items()
                                   if name.startswith("heldout") for outcome in outcomes), encoding="utf-8")
    print(f"findings: {findings_path}; dev transcripts: {every}; held-out transcripts (simulator checks only, "
          f"not for tuning): {private}")
    missed = {name: missed_targets(summary) for name, summary in summaries.items()}
    for name, items in missed.items():
        if items:
            print(f"{name} misses: " + "; ".join(items))
    return 1 if any(missed.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
