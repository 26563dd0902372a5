"""``python -m bot report-status 4821-7730 diverifikasi --note ...``: an operator moves a report.

The lifecycle (``storage.lifecycle``) decides which changes are allowed; the reporter is told
by their channel's notification loop.
"""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    from storage.models import REPORT_STATUSES

    parser = subparsers.add_parser("report-status", help="change the status of a report")
    parser.add_argument("tracking_number", help="e.g. 4821-7730")
    parser.add_argument("status", choices=REPORT_STATUSES)
    parser.add_argument("--note", help="note for the history (shown to the reporter for some statuses)")
    parser.add_argument("--agency", help="agency the report goes to (needed for diteruskan unless already set)")
    parser.add_argument("--by", default="operator", help="who made the change (default: operator)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from bot.settings import load_settings
    from storage.db import Database
    from storage.lifecycle import LifecycleError, change_status, deadline_text

    database = Database.shared(load_settings(args.config).database_url)
    try:
        with database.session() as session:
            change = change_status(session, args.tracking_number, args.status, note=args.note,
                                   agency=args.agency, changed_by=args.by)
            report = change.report
            print(f"Report {report.tracking_number} is now {report.status}"
                  f"{' (' + report.agency + ')' if report.agency and args.status == 'diteruskan' else ''}.")
            deadline = deadline_text(report)
            if deadline:
                print(deadline)
    except LifecycleError as error:
        print(f"Not changed: {error}", file=sys.stderr)
        return 1
    return 0
