"""The scripted outreach day shared by the storage and report tests: fourteen conversations
over three channels with one event code, and what a correct report must say about them."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from storage.measurement import FUNNEL_STEPS, record_step
from storage.models import Base, Report, SatisfactionRating

DAY = dt.date(2026, 11, 2)
T0 = dt.datetime(2026, 11, 2, 2, 0)
NOW = T0 + dt.timedelta(hours=4)
FULL = FUNNEL_STEPS
UNTIL_DESCRIPTION = FUNNEL_STEPS[:3]
UNTIL_LOCATION = FUNNEL_STEPS[:4]

# ref, channel, steps, minutes between steps, voice, simple language, after-filing rating
CONVERSATIONS = [
    ("tg1", "telegram", FULL, 1, False, False, 5),
    ("tg2", "telegram", FULL, 2, False, True, 4),
    ("tg3", "telegram", FULL, 3, True, False, 5),
    ("tg4", "telegram", FULL, 1, False, False, 3),
    ("tg5", "telegram", FULL, 2, True, True, 4),
    ("tg6", "telegram", UNTIL_DESCRIPTION, 1, False, False, None),
    ("wa1", "whatsapp", FULL, 4, True, False, 5),
    ("wa2", "whatsapp", UNTIL_DESCRIPTION, 2, True, False, None),
    ("wa3", "whatsapp", ("started", "slot:report_type", "cancelled"), 1, False, False, None),
    ("sms1", "sms", FULL, 5, True, True, 2),
    ("sms2", "sms", UNTIL_DESCRIPTION, 3, False, False, None),
    ("sms3", "sms", UNTIL_LOCATION, 2, False, False, None),
    ("sms4", "sms", UNTIL_LOCATION + ("cancelled",), 2, False, False, None),
]
IN_PROGRESS = ("tg7", "telegram")


def open_session(tmp_path) -> Session:
    url = f"sqlite:///{tmp_path / 'outreach.db'}"
    try:
        from storage.db import Database
    except ImportError:
        engine = create_engine(url, future=True)
        Base.metadata.create_all(engine)
    else:
        database = Database(url)
        database.migrate()
        engine = database.engine
    return Session(engine, future=True)


def _file_report(session, ref, channel, code, created_at, score, closed_score=None):
    report = Report(
        tracking_number=f"T-{ref}", submission_key=f"key-{ref}", report_type="pengaduan",
        title="Jalan rusak", description="Jalan berlubang.", location_text="Bandung", privacy="anonim",
        channel=channel, event_code=code, created_at=created_at, updated_at=created_at,
    )
    session.add(report)
    session.flush()
    session.add(SatisfactionRating(report_id=report.id, stage="after_filing", score=score, created_at=created_at))
    if closed_score is not None:
        session.add(SatisfactionRating(report_id=report.id, stage="after_closed", score=closed_score))


def record_scenario(session, code: str) -> None:
    for index, (ref, channel, steps, gap, voice, simple, score) in enumerate(CONVERSATIONS):
        start = T0 + dt.timedelta(minutes=index)
        for position, step in enumerate(steps):
            record_step(
                session, conversation_ref=f"conv-{ref}", channel=channel, step=step,
                event_code=code if position == 0 else None, voice=voice, simple_language=simple,
                occurred_at=start + dt.timedelta(minutes=position * gap),
            )
        if score is not None:
            filed_at = start + dt.timedelta(minutes=(len(steps) - 1) * gap)
            _file_report(session, ref, channel, code, filed_at, score, closed_score=4 if ref == "tg1" else None)
    ref, channel = IN_PROGRESS
    record_step(session, conversation_ref=f"conv-{ref}", channel=channel, step="started", event_code=code,
                occurred_at=NOW - dt.timedelta(minutes=5))
    # Noise the report must leave out: another event, the day before, and no event at all.
    for ref, day_shift, other_code in (("other", 0, "LAIN22"), ("before", -1, code), ("none", 0, None)):
        when = T0 + dt.timedelta(days=day_shift)
        for position, step in enumerate(FULL):
            record_step(session, conversation_ref=f"noise-{ref}", channel="sms", step=step, event_code=other_code,
                        occurred_at=when + dt.timedelta(minutes=position))
        _file_report(session, f"noise-{ref}", "sms", other_code, when + dt.timedelta(minutes=7), 1)
    session.commit()
