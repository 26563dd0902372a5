"""Filing and looking up reports.

Privacy rules enforced here, not left to callers: an ``anonim`` report stores no reporter and
only a salted hash of its PIN; a reporter sees only reports filed under their own channel
identity; a tracking number with a wrong check digit finds nothing.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage import tracking_numbers
from storage.models import (
    PRIVACY_LEVELS,
    REPORT_STATUSES,
    REPORT_TYPES,
    Attachment,
    Report,
    Reporter,
    StatusChange,
    utcnow,
)
from storage.repositories.reporters import ReporterRepository

TITLE_MAX = 80
PIN_LENGTH = 4
_TRACKING_ATTEMPTS = 20
# scrypt parameters (RFC 7914 interactive setting): about 16 MB and a few tens of ms per check.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class ReportDraft:
    """Everything the submit action collected; ``submission_key`` makes filing idempotent."""

    submission_key: str
    report_type: str
    description: str
    location_text: str
    incident_date: Optional[dt.date]
    privacy: str
    channel: str
    identity_hash: Optional[str] = None
    address: Optional[str] = None
    pin: Optional[str] = None
    event_code: Optional[str] = None
    latitude: Optional[float] = None
    longitude: Optional[float] = None
    sender_ref: Optional[str] = None
    incident_date_approximate: bool = False


def new_pin() -> str:
    """Four random digits for looking up an anonymous report."""
    return f"{secrets.randbelow(10 ** PIN_LENGTH):0{PIN_LENGTH}d}"


def make_title(description: str) -> str:
    """The first sentence of the description, at most 80 characters, cut between words."""
    first = _SENTENCE_END.split(description.strip(), maxsplit=1)[0]
    first = " ".join(first.split())
    if len(first) <= TITLE_MAX:
        return first
    cut = first[: TITLE_MAX - 1]  # one character left for the ellipsis
    if first[TITLE_MAX - 1] != " " and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-") + "…"


def hash_pin(pin: str, salt: Optional[bytes] = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: Optional[str]) -> bool:
    """Constant-time check of ``pin`` against a :func:`hash_pin` value."""
    try:
        scheme, n, r, p, salt_hex, digest_hex = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            pin.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


# Checked against when the number is unknown, so a miss costs as long as a wrong PIN.
_DUMMY_PIN_HASH = hash_pin("0000", salt=b"\0" * 16)


def _validate(draft: ReportDraft) -> None:
    if draft.report_type not in REPORT_TYPES:
        raise ValueError(f"report_type {draft.report_type!r} is not one of {REPORT_TYPES}")
    if draft.privacy not in PRIVACY_LEVELS:
        raise ValueError(f"privacy {draft.privacy!r} is not one of {PRIVACY_LEVELS}")
    if not draft.submission_key:
        raise ValueError("submission_key is required")
    if not draft.description or not draft.description.strip():
        raise ValueError("description is empty")
    if draft.privacy == "anonim":
        if not draft.pin or not draft.pin.isdigit():
            raise ValueError("an anonim report needs a numeric PIN (see new_pin())")
    elif not draft.identity_hash:
        raise ValueError(f"a {draft.privacy} report needs the reporter's identity_hash")


class ReportRepository:
    def __init__(self, session: Session, rng=None) -> None:
        """``rng`` (e.g. ``random.Random(1)``) only for tests that need predictable numbers."""
        self.session = session
        self._rng = rng

    def file(self, draft: ReportDraft) -> Report:
        """Store a new report, or return the one already filed under ``draft.submission_key``."""
        existing = self._by_submission_key(draft.submission_key)
        if existing is not None:
            return existing
        _validate(draft)
        anonymous = draft.privacy == "anonim"
        reporter_id = None
        if not anonymous:
            reporter = ReporterRepository(self.session).get_or_create(
                draft.channel, draft.identity_hash, draft.address
            )
            reporter_id = reporter.id
        now = utcnow()
        for _attempt in range(_TRACKING_ATTEMPTS):
            number = tracking_numbers.new_tracking_number(self._rng)
            if self._by_number(number) is not None:
                continue
            report = Report(
                tracking_number=number,
                submission_key=draft.submission_key,
                report_type=draft.report_type,
                title=make_title(draft.description),
                description=draft.description.strip(),
                location_text=(draft.location_text or "").strip(),
                latitude=draft.latitude,
                longitude=draft.longitude,
                incident_date=draft.incident_date,
                incident_date_approximate=draft.incident_date_approximate,
                privacy=draft.privacy,
                channel=draft.channel,
                reporter_id=reporter_id,
                pin_hash=hash_pin(draft.pin) if anonymous else None,
                event_code=draft.event_code,
                status="diterima",
                created_at=now,
                updated_at=now,
            )
            try:
                with self.session.begin_nested():
                    self.session.add(report)
                    self.session.flush()
            except IntegrityError:
                # Either a racing submit with the same key (return its report) or a tracking
                # number drawn twice at the same moment (draw again).
                raced = self._by_submission_key(draft.submission_key)
                if raced is not None:
                    return raced
                continue
            break
        else:
            raise RuntimeError(f"no free tracking number after {_TRACKING_ATTEMPTS} attempts")
        self.session.add(StatusChange(report_id=report.id, status="diterima", changed_at=now, changed_by="system"))
        if draft.sender_ref:
            for attachment in self.session.execute(
                select(Attachment).where(Attachment.sender_ref == draft.sender_ref, Attachment.report_id.is_(None))
            ).scalars():
                attachment.report_id = report.id
        self.session.flush()
        return report

    def by_tracking_number(self, tracking_number: str) -> Optional[Report]:
        """Any report by number, for operators and internal use: no ownership check here."""
        number = tracking_numbers.normalise(tracking_number)
        return self._by_number(number) if number else None

    def for_reporter(self, tracking_number: str, channel: str, identity_hash: str) -> Optional[Report]:
        """The report if it was filed by this channel identity; None for anyone else and for anonim."""
        number = tracking_numbers.normalise(tracking_number)
        if number is None:
            return None
        return self.session.execute(
            select(Report)
            .join(Reporter, Report.reporter_id == Reporter.id)
            .where(
                Report.tracking_number == number,
                Reporter.channel == channel,
                Reporter.identity_hash == identity_hash,
            )
        ).scalar_one_or_none()

    def of_reporter(self, channel: str, identity_hash: str, limit: int = 5) -> List[Report]:
        """This channel identity's own reports, newest first (never anonim ones: they have no reporter)."""
        return list(self.session.execute(
            select(Report)
            .join(Reporter, Report.reporter_id == Reporter.id)
            .where(Reporter.channel == channel, Reporter.identity_hash == identity_hash)
            .order_by(Report.created_at.desc(), Report.id.desc())
            .limit(limit)
        ).scalars())

    def anonymous(self, tracking_number: str, pin: str) -> Optional[Report]:
        """An anonim report by number and PIN (compared in constant time); None otherwise."""
        number = tracking_numbers.normalise(tracking_number)
        report = self._by_number(number) if number else None
        if report is None or report.privacy != "anonim" or not report.pin_hash:
            verify_pin(pin or "", _DUMMY_PIN_HASH)
            return None
        return report if verify_pin(pin or "", report.pin_hash) else None

    def change_status(
        self,
        report: Report,
        status: str,
        note: Optional[str] = None,
        agency: Optional[str] = None,
        changed_by: str = "system",
    ) -> StatusChange:
        """Move the report to ``status`` and write the history row notifications are derived from."""
        if status not in REPORT_STATUSES:
            raise ValueError(f"status {status!r} is not one of {REPORT_STATUSES}")
        now = utcnow()
        change = StatusChange(
            report_id=report.id, status=status, note=note, agency=agency, changed_by=changed_by, changed_at=now
        )
        self.session.add(change)
        # The caller may hold the report from an earlier session: change the row in this one,
        # and mirror the change on the caller's object so it stays truthful.
        targets = [report] if report in self.session else [self.session.get(Report, report.id), report]
        for target in targets:
            target.status = status
            target.updated_at = now
            if agency:
                target.agency = agency
        self.session.flush()
        return change

    def history(self, report: Report) -> List[StatusChange]:
        return list(
            self.session.execute(
                select(StatusChange).where(StatusChange.report_id == report.id).order_by(StatusChange.id)
            ).scalars()
        )

    def latest_change(self, report: Report) -> Optional[StatusChange]:
        return self.session.execute(
            select(StatusChange)
            .where(StatusChange.report_id == report.id)
            .order_by(StatusChange.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    def list(
        self,
        status: Optional[str] = None,
        agency: Optional[str] = None,
        region_code: Optional[str] = None,
        since: Optional[dt.datetime] = None,
        until: Optional[dt.datetime] = None,
        limit: Optional[int] = None,
    ) -> List[Report]:
        """Reports oldest first; ``region_code`` matches the code and every region below it."""
        query = select(Report)
        if status is not None:
            query = query.where(Report.status == status)
        if agency is not None:
            query = query.where(Report.agency == agency)
        if region_code is not None:
            query = query.where(
                (Report.region_code == region_code) | Report.region_code.startswith(region_code + ".")
            )
        if since is not None:
            query = query.where(Report.created_at >= since)
        if until is not None:
            query = query.where(Report.created_at < until)
        query = query.order_by(Report.created_at, Report.id)
        if limit is not None:
            query = query.limit(limit)
        return [row for row in self.session.execute(query).scalars()]

    def _by_number(self, number: str) -> Optional[Report]:
        return self.session.execute(select(Report).where(Report.tracking_number == number)).scalar_one_or_none()

    def _by_submission_key(self, key: str) -> Optional[Report]:
        return self.session.execute(select(Report).where(Report.submission_key == key)).scalar_one_or_none()
