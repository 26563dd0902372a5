"""The cached upsert statement (storage/repositories/_common.upsert) against the ORM's own rows."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from storage.models import InboundDelivery, Reporter
from storage.repositories._common import _upsert_statement, upsert


def test_an_upsert_inserts_then_updates_only_the_named_columns_with_orm_readable_values(session):
    at = dt.datetime(2026, 12, 2, 18, 0, 0)
    values = {"channel": "sms", "identity_hash": "u" * 64, "address": "+6281200000001", "last_inbound_at": at,
              "unreachable_at": None, "created_at": at}
    update = {"address": "excluded", "last_inbound_at": "excluded", "unreachable_at": None}
    upsert(session, Reporter.__table__, values, conflict=("channel", "identity_hash"), update=update)
    session.execute(select(Reporter)).scalars().all()
    upsert(session, Reporter.__table__, {**values, "address": "+6281200000002", "created_at": at + dt.timedelta(hours=5)},
           conflict=("channel", "identity_hash"), update=update)
    session.expire_all()

    rows = session.execute(select(Reporter).where(Reporter.identity_hash == "u" * 64)).scalars().all()
    assert [(row.address, row.created_at, row.last_inbound_at) for row in rows] == [("+6281200000002", at, at)]
    # The stored time compares with an ORM-bound time (same storage format on SQLite).
    assert session.execute(select(Reporter.id).where(Reporter.created_at == at)).scalar_one() == rows[0].id


def test_do_nothing_returns_the_new_id_once_and_none_for_the_row_that_existed(session):
    values = {"channel": "telegram", "provider_id": "upsert-1", "sender_hash": None, "payload": {"a": [1, "dua"]},
              "state": "received", "attempts": 0, "received_at": dt.datetime(2026, 12, 2, 18, 0, 0, 123456),
              "claimed_by": None, "claimed_until": None}
    first = upsert(session, InboundDelivery.__table__, values, conflict=("channel", "provider_id"),
                   returning="id").scalar()
    again = upsert(session, InboundDelivery.__table__, {**values, "payload": {"b": 2}},
                   conflict=("channel", "provider_id"), returning="id").scalar()

    assert isinstance(first, int) and again is None
    row = session.get(InboundDelivery, first)
    assert (row.payload, row.received_at.microsecond) == ({"a": [1, "dua"]}, 123456)


def test_columns_left_out_get_their_constant_defaults_and_the_statement_is_built_once(session):
    _upsert_statement.cache_clear()
    values = {"channel": "telegram", "provider_id": "upsert-2", "received_at": dt.datetime(2026, 12, 2)}
    for provider_id in ("upsert-2", "upsert-3"):
        upsert(session, InboundDelivery.__table__, {**values, "provider_id": provider_id},
               conflict=("channel", "provider_id"))
    row = session.execute(select(InboundDelivery).where(InboundDelivery.provider_id == "upsert-2")).scalar_one()
    assert (row.state, row.attempts, row.payload) == ("received", 0, None)
    assert _upsert_statement.cache_info().misses == 1
