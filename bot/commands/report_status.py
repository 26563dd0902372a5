"""``python -m bot report-status 4821-7730 diverifikasi --note ...``: an operator moves a report.

The lifecycle (``storage.lifecycle``) decides which changes are allowed; the reporter is told
by their channel's notification loop. ``--category`` and ``--agency`` change where the report
goes; when they differ from what the report had (usually the routing suggestion) the change is
stored as a correction (``storage.routing.corrections``), which ``retrain-categories`` learns
from. The status may be left out to correct only the routing.
"""
from __future__ import annotations

import sys


def register(subparsers) -> None:
    from storage.models import REPORT_STATUSES
    from storage.routing.categories import CATEGORIES

    parser = subparsers.add_parser("report-status", help="change the status, category or agency of a report")
    parser.add_argument("tracking_number", help="e.g. 4821-7730")
    parser.add_argument("status", nargs="?", choices=REPORT_STATUSES,
                        help="new status (leave out to change only --category/--agency)")
    parser.add_argument("--note", help="note for the history (shown to the reporter for some statuses)")
    parser.add_argument("--agency", help="agency the report goes to (needed for diteruskan unless already set)")
    parser.add_argument("--category", choices=list(CATEGORIES), help="the right LAPOR! category code")
    parser.add_argument("--by", default="operator", help="who made the change (default: operator)")
    parser.set_defaults(func=run)


def run(args) -> int:
    from bot.settings import load_settings
    from storage.db import Database
    from storage.lifecycle import LifecycleError, change_status, deadline_text
    from storage.repositories import ReportRepository
    from storage.routing.corrections import record_correction

    if not (args.status or args.category or args.agency):
        print("Nothing to change: give a status, --category or --agency.", file=sys.stderr)
        return 2
    database = Database.shared(load_settings(args.config).database_url)
    try:
        with database.session() as session:
            report = ReportRepository(session).by_tracking_number(args.tracking_number)
            if report is None:
                raise LifecycleError(f"no report with tracking number {args.tracking_number!r}")
            # Recorded before the status change, which may itself set the agency.
            correction = record_correction(session, report, category=args.category, agency=args.agency,
                                           corrected_by=args.by)
            if correction is not None:
                print(f"Correction recorded for {report.tracking_number}: "
                      + ", ".join(part for part in (
                          correction.new_category and f"category {correction.old_category or '-'} -> "
                                                      f"{correction.new_category}",
                          correction.new_agency and f"agency {correction.old_agency or '-'} -> {correction.new_agency}",
                      ) if part) + ".")
            if args.status:
                change = change_status(session, report.tracking_number, args.status, note=args.note,
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
