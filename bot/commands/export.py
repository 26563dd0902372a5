"""``python -m bot export``: reports as CSV or JSON Lines in LAPOR!'s field names.

Privacy is enforced by ``storage.export``: rahasia reports are never exported, and contact
data appears only with ``--contact`` and never for anonim reports.
"""
from __future__ import annotations

import sys
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("export", help="export reports as CSV or JSON Lines (LAPOR! fields)")
    parser.add_argument("--format", choices=("csv", "jsonl"), default="jsonl")
    parser.add_argument("--status", help="only reports in this status (diterima, diteruskan, ...)")
    parser.add_argument("--agency", help="only reports for this agency (exact name)")
    parser.add_argument("--region", help="only reports in this region code and below it (e.g. 32.04)")
    parser.add_argument("--since", help="filed on or after this date (YYYY-MM-DD, UTC)")
    parser.add_argument("--until", help="filed on or before this date (YYYY-MM-DD, UTC)")
    parser.add_argument("--contact", action="store_true",
                        help="add the reporter's channel address (kontak); never for anonim reports")
    parser.add_argument("--out", help="file to write (default: standard output)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from bot.settings import load_settings
    from storage.db import Database
    from storage.export import ExportFilter, export_rows, parse_bound, render
    from storage.models import REPORT_STATUSES

    if args.status and args.status not in REPORT_STATUSES:
        print(f"Unknown status {args.status!r}; use one of {', '.join(REPORT_STATUSES)}", file=sys.stderr)
        return 2
    try:
        filters = ExportFilter(status=args.status, agency=args.agency, region_code=args.region,
                               since=parse_bound(args.since), until=parse_bound(args.until, end=True))
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    database = Database.shared(load_settings(args.config).database_url)
    with database.session() as session:
        rows = export_rows(session, filters, include_contact=args.contact)
    text = render(rows, args.format, include_contact=args.contact)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
        print(f"{len(rows)} report(s) written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
