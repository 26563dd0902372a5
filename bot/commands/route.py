"""``python -m bot route --in lines.jsonl --out out.jsonl``: routing suggestions in bulk.

Each input line is ``{"text": ..., "location": ...}`` (other keys are copied through); each
output line adds ``category`` (code, label, confidence, confident, and ``top3``: the three
choices the form would offer, each with code, label and calibrated confidence), ``region``
(status, code, name, level, candidates) and ``agency`` (name, level, reason). When
``location`` is empty the place is looked for in the text itself. For re-routing old reports and for
measuring the suggestions on complaints the project has never seen.
"""
from __future__ import annotations

import json
import sys
from typing import IO, List, Optional


def register(subparsers) -> None:
    parser = subparsers.add_parser("route", help="suggest category, region and agency for JSON Lines")
    parser.add_argument("--in", dest="input", required=True, help="JSON Lines file ('-' for standard input)")
    parser.add_argument("--out", dest="output", default="-", help="JSON Lines file (default: standard output)")
    parser.add_argument("--agencies", help="routing table (default: routing.agencies_file from config.yml)")
    parser.set_defaults(func=run)


# Lines scored together: one model call for many texts is about five times faster per text.
BATCH = 256


def route_line(record: dict, table, scores=None) -> dict:
    from storage.routing.suggest import suggest_routing

    result = suggest_routing(str(record.get("text") or ""), str(record.get("location") or ""), table=table,
                             scores=scores)
    region = result.region
    out = dict(record)
    out["category"] = {"code": result.category.code, "label": result.category.label,
                       "confidence": result.category.confidence, "confident": result.category_confident,
                       "top3": [{"code": s.code, "label": s.label, "confidence": s.confidence}
                                for s in result.top_choices]}
    out["region"] = {
        "status": region.status,
        "code": region.best.code if region.best and region.status == "unique" else None,
        "name": region.best.label if region.best and region.status == "unique" else None,
        "level": region.best.level if region.best and region.status == "unique" else None,
        "candidates": [{"code": c.code, "name": c.label} for c in region.candidates]
        if region.status == "ambiguous" else [],
    }
    out["agency"] = {"name": result.agency.agency, "level": result.agency.level, "reason": result.agency.reason}
    return out


def route_stream(source: IO[str], sink: IO[str], table) -> int:
    from storage.routing.categories import get_model

    count = 0
    pending: List[dict] = []

    def flush() -> None:
        scores = get_model().scores_many([str(record.get("text") or "") for record in pending])
        for record, text_scores in zip(pending, scores):
            sink.write(json.dumps(route_line(record, table, text_scores), ensure_ascii=False) + "\n")
        pending.clear()

    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(f"line {number}: not JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise ValueError(f"line {number}: expected an object with text and location")
        pending.append(record)
        count += 1
        if len(pending) >= BATCH:
            flush()
    if pending:
        flush()
    return count


def run(args) -> int:
    from bot.settings import load_settings
    from storage.routing.agencies import AgencyTableError, load_agency_table, table_file

    settings = load_settings(args.config)
    path = args.agencies or table_file(settings.base_dir, settings.section("routing").get("agencies_file"))
    try:
        table = load_agency_table(path)
    except AgencyTableError as error:
        print(f"Routing table rejected: {error}", file=sys.stderr)
        return 2
    source: Optional[IO[str]] = None
    sink: Optional[IO[str]] = None
    try:
        source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")
        sink = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
        count = route_stream(source, sink, table)
    except (OSError, ValueError) as error:
        print(f"route: {error}", file=sys.stderr)
        return 1
    finally:
        for handle in (source, sink):
            if handle not in (None, sys.stdin, sys.stdout):
                handle.close()
    if args.output != "-":
        print(f"{count} line(s) routed into {args.output}", file=sys.stderr)
    return 0
