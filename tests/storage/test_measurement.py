import datetime as dt
import uuid

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from storage import measurement
from storage.measurement import InvalidStep, load_conversations, record_step
from storage.models import Base, ConversationEvent

T0 = dt.datetime(2026, 11, 2, 9, 0)


@pytest.fixture
def session(tmp_path):
    url = f"sqlite:///{tmp_path / 'measurement.db'}"
    try:
        from storage.db import Database
    except ImportError:
        engine = create_engine(url, future=True)
        Base.metadata.create_all(engine)
    else:
        database = Database(url)
        database.migrate()
        engine = database.engine
    with Session(engine, future=True) as session:
        yield session


def steps(session, ref, channel, names, *, start=T0, minutes=2, **flags):
    for index, name in enumerate(names):
        record_step(
            session, conversation_ref=ref, channel=channel, step=name,
            occurred_at=start + dt.timedelta(minutes=index * minutes), **flags,
        )
    session.commit()


def load(session, **kwargs):
    kwargs.setdefault("now", T0 + dt.timedelta(hours=3))
    return load_conversations(session, start=dt.datetime(2026, 11, 2), end=dt.datetime(2026, 11, 3), **kwargs)


def test_recorded_step_keeps_no_personal_data_and_upper_cases_the_event_code(session):
    ref = str(uuid.uuid4())
    record_step(session, conversation_ref=ref, channel="sms", step="started", event_code=" sosbdg01 ", voice=True)
    session.commit()
    row = session.execute(select(ConversationEvent)).scalar_one()
    assert (row.conversation_ref, row.channel, row.step, row.event_code, row.voice, row.simple_language) == (
        ref, "sms", "started", "SOSBDG01", True, False,
    )


@pytest.mark.parametrize("step", ["abandoned", "slot:nama", "Filed", "", "slot:"])
def test_unknown_steps_are_rejected(session, step):
    with pytest.raises(InvalidStep):
        record_step(session, conversation_ref="c1", channel="telegram", step=step)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"conversation_ref": "", "channel": "telegram"},
        {"conversation_ref": "x" * 65, "channel": "telegram"},
        {"conversation_ref": "c1", "channel": "Tele gram"},
        {"conversation_ref": "c1", "channel": "telegram", "event_code": "SOS BDG"},
    ],
)
def test_malformed_references_are_rejected(session, kwargs):
    with pytest.raises(InvalidStep):
        record_step(session, step="started", **kwargs)


def test_outcomes_are_filed_cancelled_abandoned_after_the_idle_time_or_in_progress(session):
    steps(session, "filed", "telegram", measurement.FUNNEL_STEPS)
    steps(session, "cancelled", "sms", ["started", "slot:report_type", "cancelled"])
    steps(session, "abandoned", "whatsapp", ["started", "slot:report_type", "slot:description"])
    steps(session, "active", "whatsapp", ["started"], start=T0 + dt.timedelta(hours=2, minutes=40))
    found = {conversation.ref: conversation.outcome for conversation in load(session)}
    assert found == {"filed": "filed", "cancelled": "cancelled", "abandoned": "abandoned", "active": "in_progress"}


def test_idle_minutes_decides_when_a_quiet_conversation_counts_as_abandoned(session):
    steps(session, "quiet", "sms", ["started", "slot:report_type"])
    last_step = T0 + dt.timedelta(minutes=2)
    assert load(session, now=last_step + dt.timedelta(minutes=29))[0].outcome == "in_progress"
    assert load(session, now=last_step + dt.timedelta(minutes=30))[0].outcome == "abandoned"
    assert load(session, now=last_step + dt.timedelta(minutes=10), idle_minutes=5)[0].outcome == "abandoned"


def test_gave_up_at_is_the_first_step_not_reached_and_skipped_slots_count_as_passed(session):
    steps(session, "a", "sms", ["started", "slot:report_type", "slot:description", "slot:location", "slot:privacy"])
    conversation = load(session)[0]
    assert conversation.reached("slot:incident_date")
    assert conversation.gave_up_at == "readback_confirmed"


def test_conversations_are_selected_by_start_time_and_event_code(session):
    steps(session, "before", "sms", ["started", "slot:report_type"], start=dt.datetime(2026, 11, 1, 23, 50), minutes=20)
    steps(session, "inside", "sms", ["started", "slot:report_type"], event_code="SOSBDG01")
    steps(session, "other", "sms", ["started"], event_code="LAIN22")
    steps(session, "late", "telegram", ["started", "filed"], start=dt.datetime(2026, 11, 2, 23, 59), minutes=5)
    assert [c.ref for c in load(session)] == ["inside", "other", "late"]
    assert [c.ref for c in load(session, event_code="sosbdg01")] == ["inside"]
    late = load(session)[-1]
    assert (late.outcome, late.minutes_to_file) == ("filed", 5.0)


def test_voice_and_simple_language_count_when_any_step_used_them(session):
    steps(session, "mixed", "whatsapp", ["started"])
    steps(session, "mixed", "whatsapp", ["slot:report_type"], start=T0 + dt.timedelta(minutes=5), voice=True)
    conversation = load(session)[0]
    assert (conversation.voice, conversation.simple_language) == (True, False)
