"""``python -m bot outreach-report``: the measurable benefit of a period or one outreach event."""
from __future__ import annotations

import sys
from pathlib import Path

from bot.cli_args import iso_date, iso_utc_time
from bot.outreach.charts import write_charts
from bot.outreach.report import file_stem, format_table, write_csv
from bot.settings import load_settings
from storage.db import Database
from storage.measurement import DEFAULT_IDLE_MINUTES
from storage.outreach import get_event, outreach_figures


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "outreach-report", help="conversations, reports, accessibility use and satisfaction (table, CSV, charts)"
    )
    parser.add_argument("--from", dest="start", required=True, type=iso_date, help="first day, YYYY-MM-DD (UTC)")
    parser.add_argument("--to", dest="end", required=True, type=iso_date, help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--event", help="only conversations that came with this event code")
    parser.add_argument("--out", type=Path, help="folder for the CSV and PNG files (default: <data_dir>/outreach)")
    parser.add_argument("--idle-minutes", type=int, default=DEFAULT_IDLE_MINUTES,
                        help=f"a conversation quiet this long counts as abandoned (default {DEFAULT_IDLE_MINUTES})")
    parser.add_argument("--as-of", dest="as_of", type=iso_utc_time,
                        help="count quiet conversations as abandoned as of this UTC time, YYYY-MM-DDTHH:MM "
                             "(default now); the same report can be made again later")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.end < args.start:
        print("--to is before --from", file=sys.stderr)
        return 2
    if args.idle_minutes < 1:
        print("--idle-minutes must be at least 1", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    database = Database.shared(settings.database_url)
    database.migrate()
    with database.session() as session:
        if args.event and get_event(session, args.event) is None:
            print(f"No outreach event has the code {args.event!r}", file=sys.stderr)
            return 2
        figures = outreach_figures(
            session, start=args.start, end=args.end, event_code=args.event, idle_minutes=args.idle_minutes,
            now=args.as_of,
        )
    out_dir = args.out or settings.data_dir / "outreach"
    stem = file_stem(figures)
    print(format_table(figures))
    print()
    print(f"CSV:    {write_csv(figures, out_dir / f'{stem}.csv')}")
    for chart in write_charts(figures, out_dir, stem):
        print(f"Chart:  {chart}")
    return 0
