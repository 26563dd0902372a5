"""The life of a report after filing: allowed status changes, LAPOR! deadlines, notifications.

Notifications are facts (:class:`Notification`); their words are the accessibility layer's.

Why one module: the three are one rule set. A transition decides which deadline runs (filing
starts the 3-working-day verification clock, forwarding starts the agency's 5-working-day
response clock), and every transition a reporter can reach is a notification to send.

Transitions (LAPOR!'s verifier actions; FixMyStreet keeps a similar open/closed split)::

    diterima -> diverifikasi -> diteruskan -> ditindaklanjuti -> selesai
    ditunda         from diterima, diverifikasi, diteruskan, ditindaklanjuti (waiting for
                    information); it resumes to diverifikasi, diteruskan or ditindaklanjuti
    bukan_wewenang  from diterima, diverifikasi, diteruskan (the agency says it is not theirs);
                    then diteruskan to another agency, or diarsipkan
    diteruskan      also from diteruskan (re-forwarded to another agency)
    selesai         -> ditindaklanjuti reopens a report the reporter disputes
    diarsipkan      from every state except itself; final

``diteruskan`` needs an agency (given, or the one already on the report).

Deadlines count working days (``storage.working_days``) on the Indonesian calendar date of the
event, taken in WIB (UTC+7) since timestamps are stored as naive UTC.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import REPORT_STATUSES, Report, Reporter, StatusChange, utcnow
from storage.repositories.reports import ReportRepository
from storage.working_days import add_working_days

log = logging.getLogger(__name__)

VERIFICATION_WORKING_DAYS = 3
RESPONSE_WORKING_DAYS = 5
WIB = dt.timedelta(hours=7)

TRANSITIONS: Dict[str, FrozenSet[str]] = {
    "diterima": frozenset({"diverifikasi", "ditunda", "bukan_wewenang", "diarsipkan"}),
    "diverifikasi": frozenset({"diteruskan", "ditunda", "bukan_wewenang", "diarsipkan"}),
    "diteruskan": frozenset({"diteruskan", "ditindaklanjuti", "ditunda", "bukan_wewenang", "diarsipkan"}),
    "ditindaklanjuti": frozenset({"selesai", "ditunda", "diarsipkan"}),
    "selesai": frozenset({"ditindaklanjuti", "diarsipkan"}),
    "ditunda": frozenset({"diverifikasi", "diteruskan", "ditindaklanjuti", "bukan_wewenang", "diarsipkan"}),
    "bukan_wewenang": frozenset({"diteruskan", "diarsipkan"}),
    "diarsipkan": frozenset(),
}
assert set(TRANSITIONS) == set(REPORT_STATUSES)

# Outcomes a channel reports (channels/notifications.py). These settle the notification:
# "sent_template": WhatsApp outside its 24-hour window, through the approved template;
# "sent_sms": the same, through the SMS fallback.
FINAL_OUTCOMES = ("sent", "sent_template", "sent_sms", "unreachable", "failed", "gave_up")
# These leave it pending for a later round: WhatsApp outside its 24-hour window ("needs_template")
# is sent once the reporter writes again.
LATER_OUTCOMES = ("needs_template", "retry_later")
OUTCOMES = FINAL_OUTCOMES + LATER_OUTCOMES


class LifecycleError(ValueError):
    """A status change that is not allowed; the message is fit for an operator."""


def allowed_next(status: str) -> FrozenSet[str]:
    return TRANSITIONS.get(status, frozenset())


def change_status(session: Session, tracking_number: str, status: str, note: Optional[str] = None,
                  agency: Optional[str] = None, changed_by: str = "operator") -> StatusChange:
    """Move a report to ``status`` if the lifecycle allows it; the caller's session commits."""
    repository = ReportRepository(session)
    report = repository.by_tracking_number(tracking_number)
    if report is None:
        raise LifecycleError(f"no report with tracking number {tracking_number!r}")
    if status not in TRANSITIONS:
        raise LifecycleError(f"unknown status {status!r}; use one of {', '.join(REPORT_STATUSES)}")
    if status not in allowed_next(report.status):
        allowed = ", ".join(sorted(allowed_next(report.status))) or "none (final)"
        raise LifecycleError(f"report {report.tracking_number} is {report.status}; it cannot become {status} "
                             f"(allowed: {allowed})")
    agency = (agency or "").strip() or None
    if status == "diteruskan":
        agency = agency or report.agency
        if not agency:
            raise LifecycleError(f"report {report.tracking_number}: diteruskan needs the agency it goes to")
    change = repository.change_status(report, status, note=note, agency=agency, changed_by=changed_by)
    session.expire(report, ["history"])  # the repository adds the row directly, not through the relationship
    return change


# --- deadlines -------------------------------------------------------------------------------


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar date in WIB of a naive UTC timestamp."""
    return (moment + WIB).date()


@dataclass(frozen=True)
class Deadlines:
    verification_due: dt.date
    verified_on: Optional[dt.date]
    verification_overdue: bool
    forwarded_on: Optional[dt.date]
    response_due: Optional[dt.date]
    responded_on: Optional[dt.date]
    response_overdue: bool


def _first(history: List[StatusChange], statuses: FrozenSet[str], after: Optional[dt.datetime] = None
           ) -> Optional[StatusChange]:
    for change in history:
        if change.status in statuses and (after is None or change.changed_at >= after):
            return change
    return None


def deadlines(report: Report, today: Optional[dt.date] = None) -> Deadlines:
    """LAPOR!'s two clocks for ``report``: verification, then the agency's first response.

    Verification ends with the first decision after filing (diverifikasi, diteruskan,
    bukan_wewenang, diarsipkan). The response clock starts at the latest ``diteruskan`` and ends
    with ``ditindaklanjuti`` or ``selesai`` after it. ``today`` is a WIB date (default: now).
    """
    today = today or local_date(utcnow())
    history = sorted(report.history, key=lambda change: (change.changed_at, change.id or 0))
    filed = local_date(report.created_at)
    verification_due = add_working_days(filed, VERIFICATION_WORKING_DAYS)
    decided = _first(history, frozenset({"diverifikasi", "diteruskan", "bukan_wewenang", "diarsipkan"}))
    verified_on = local_date(decided.changed_at) if decided else None
    verification_overdue = (verified_on or today) > verification_due

    forwards = [change for change in history if change.status == "diteruskan"]
    forwarded_on = response_due = responded_on = None
    response_overdue = False
    if forwards:
        latest = forwards[-1]
        forwarded_on = local_date(latest.changed_at)
        response_due = add_working_days(forwarded_on, RESPONSE_WORKING_DAYS)
        answer = _first(history, frozenset({"ditindaklanjuti", "selesai"}), after=latest.changed_at)
        responded_on = local_date(answer.changed_at) if answer else None
        closed = report.status in ("diarsipkan", "bukan_wewenang") and responded_on is None
        response_overdue = not closed and (responded_on or today) > response_due
    return Deadlines(verification_due, verified_on, verification_overdue, forwarded_on, response_due,
                     responded_on, response_overdue)


_MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September",
           "Oktober", "November", "Desember")


def format_date(day: dt.date) -> str:
    """"3 Desember 2026": how a date is written (and read aloud) for citizens."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def clock_that_matters(report: Report, today: Optional[dt.date] = None) -> Optional[Tuple[str, dt.date]]:
    """The LAPOR! deadline a citizen should hear about now, as ``(kind, date)``; None when none runs.

    ``kind`` is ``verification``, ``verification_overdue``, ``response`` or ``response_overdue``;
    every wording (regular, simple language) decides only how to say it.
    """
    if report.status in ("selesai", "diarsipkan"):
        return None
    due = deadlines(report, today)
    if due.verified_on is None:
        return ("verification_overdue" if due.verification_overdue else "verification"), due.verification_due
    if due.response_due and due.responded_on is None:
        return ("response_overdue" if due.response_overdue else "response"), due.response_due
    return None


# For operators (``bot report-status``); citizens read the catalogue's ``status_deadline.*``
# (accessibility/citizen_text.yml), which says the same in their words.
DEADLINE_WORDING: Dict[str, str] = {
    "verification_overdue": "Batas waktu verifikasi {date} sudah lewat. Laporan Anda akan kami prioritaskan.",
    "verification": "Laporan akan diverifikasi paling lambat {date}.",
    "response_overdue": "Batas waktu tanggapan instansi {date} sudah lewat.",
    "response": "Instansi diharapkan menanggapi paling lambat {date}.",
}


def deadline_text(report: Report, today: Optional[dt.date] = None,
                  wording: Dict[str, str] = DEADLINE_WORDING) -> str:
    """One or two short Indonesian sentences about the clock that matters now, for operators."""
    clock = clock_that_matters(report, today)
    if clock is None:
        return ""
    kind, date = clock
    return wording[kind].format(date=format_date(date))


# --- notifications ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Notification:
    """A status change a reporter is to be told about, as plain values.

    Only facts: the words (regular or simple, text or voice) are the accessibility layer's
    (``accessibility.status_updates``), so storage holds no citizen-facing text.
    """

    change_id: int
    report_id: int
    tracking_number: str
    status: str
    channel: str
    identity_hash: str
    address: str
    # When the reporter last wrote to us: WhatsApp allows free-form messages within 24 hours.
    last_inbound_at: Optional[dt.datetime]
    changed_at: dt.datetime
    agency: Optional[str] = None  # where the report went (this change's, else the report's)
    note: Optional[str] = None  # the officer's note, told with the statuses that explain themselves
    response_due: Optional[dt.date] = None  # diteruskan: the agency's 5-working-day deadline


def pending_notifications(session: Session, channel: str, limit: int = 100) -> List[Notification]:
    """Status changes not yet told to a reporter who can be reached on ``channel``, oldest first.

    Left out: the first ``diterima`` (the citizen got the tracking number in the conversation),
    anonymous reports (no reporter is stored), reporters with no address or marked unreachable.
    Those rows stay un-notified on purpose: nobody can be told.
    """
    rows = session.execute(
        select(StatusChange, Report, Reporter)
        .join(Report, StatusChange.report_id == Report.id)
        .join(Reporter, Report.reporter_id == Reporter.id)
        .where(
            StatusChange.notified_at.is_(None),
            StatusChange.status != "diterima",
            Report.privacy != "anonim",
            Reporter.channel == channel,
            Reporter.address.is_not(None),
            Reporter.unreachable_at.is_(None),
        )
        .order_by(StatusChange.changed_at, StatusChange.id)
        .limit(limit)
    ).all()
    notifications = []
    for change, report, reporter in rows:
        response_due = None
        if change.status == "diteruskan":
            response_due = add_working_days(local_date(change.changed_at), RESPONSE_WORKING_DAYS)
        notifications.append(Notification(
            change.id, report.id, report.tracking_number, change.status, reporter.channel, reporter.identity_hash,
            reporter.address, reporter.last_inbound_at, change.changed_at, agency=change.agency or report.agency,
            note=change.note, response_due=response_due))
    return notifications


def mark_notified(session: Session, change_id: int, outcome: str) -> bool:
    """Record what happened to a notification; True when it is settled and will not come back.

    ``sent``, ``unreachable`` (blocked, opted out), ``failed`` (the provider refused; the
    channel logged why) and ``gave_up`` settle it; ``needs_template`` (WhatsApp outside its
    24-hour window) and ``retry_later`` leave it pending for a later round.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of {OUTCOMES}")
    change = session.get(StatusChange, change_id)
    if change is None:
        raise ValueError(f"no status change {change_id}")
    change.notification_outcome = outcome
    if outcome in LATER_OUTCOMES:
        session.flush()
        return False
    if change.notified_at is None:
        change.notified_at = utcnow()
        session.flush()
    log.info("status change %s notification: %s", change_id, outcome)
    return True
