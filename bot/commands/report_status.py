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
    parser.add_argument("--show", action="store_true",
                        help="change nothing; show the status updates and whether the reporter got them")
    parser.set_defaults(func=run)


def run(args) -> int:
    from bot.settings import load_settings
    from storage.db import Database
    from storage.lifecycle import LifecycleError, change_status, deadline_text
    from storage.repositories import ReportRepository
    from storage.routing.corrections import record_correction

    if not (args.status or args.category or args.agency or args.show):
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
            print("\n".join(delivery_lines(report)))
    except LifecycleError as error:
        print(f"Not changed: {error}", file=sys.stderr)
        return 1
    return 0


def delivery_lines(report) -> list:
    """The report's status updates and what telling the reporter came to, for the operator."""
    if report.privacy == "anonim":
        return ["Status updates: none are sent (anonim: no reporter is stored)."]
    lines = ["Status updates to the reporter:"]
    history = sorted(report.history, key=lambda change: (change.changed_at, change.id or 0))
    for index, change in enumerate(history):
        when = f"{change.changed_at:%d-%m-%Y %H:%M} UTC"
        if index == 0 and change.status == "diterima":
            state = "told in the conversation (tracking number given at filing)"
        elif change.notified_at is not None:
            state = f"{change.notification_outcome or 'sent'} at {change.notified_at:%d-%m-%Y %H:%M} UTC"
        elif change.notification_outcome:
            state = f"pending ({change.notification_outcome})"
        else:
            state = "pending"
        lines.append(f"  {change.status} ({when}): {state}")
    return lines
