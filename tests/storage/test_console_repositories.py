from __future__ import annotations

import datetime as dt

import pytest

from storage.repositories.accounts import AccountError, AccountRepository, SessionRepository
from storage.repositories.audit import AuditLog
from storage.repositories.handovers import HandoverError, HandoverRepository


def test_a_password_is_kept_only_as_an_argon2id_hash_and_checked_against_it(session):
    accounts = AccountRepository(session)
    account = accounts.create("Ani", "Ani Rahma", "operator", "kata-sandi-yang-panjang")
    assert account.username == "ani" and account.password_hash.startswith("$argon2id$")
    assert accounts.authenticate("ANI", "kata-sandi-yang-panjang").id == account.id
    assert accounts.authenticate("ani", "kata-sandi-yang-salah") is None
    assert accounts.authenticate("tidak-ada", "kata-sandi-yang-panjang") is None


def test_an_account_needs_a_known_role_an_agency_for_officers_and_a_free_username(session):
    accounts = AccountRepository(session)
    with pytest.raises(AccountError):
        accounts.create("budi", "Budi", "superuser", "kata-sandi-yang-panjang")
    with pytest.raises(AccountError):
        accounts.create("budi", "Budi", "agency_officer", "kata-sandi-yang-panjang")
    with pytest.raises(AccountError):
        accounts.create("budi", "Budi", "operator", "pendek")
    accounts.create("budi", "Budi", "facilitator", "kata-sandi-yang-panjang", agency="ignored")
    with pytest.raises(AccountError):
        accounts.create("Budi", "Budi Lain", "operator", "kata-sandi-yang-panjang")


def test_the_last_administrator_cannot_be_deactivated_and_deactivation_ends_sessions(session):
    accounts, sessions = AccountRepository(session), SessionRepository(session)
    admin = accounts.create("eko", "Eko", "administrator", "kata-sandi-yang-panjang")
    with pytest.raises(AccountError):
        accounts.set_active(admin.id, False)
    operator = accounts.create("ani", "Ani", "operator", "kata-sandi-yang-panjang")
    sessions.open("d" * 64, operator.id, dt.timedelta(hours=1))
    assert sessions.account_of("d" * 64).id == operator.id
    accounts.set_active(operator.id, False)
    assert sessions.account_of("d" * 64) is None


def test_an_expired_session_signs_no_one_in(session):
    account = AccountRepository(session).create("ani", "Ani", "operator", "kata-sandi-yang-panjang")
    sessions = SessionRepository(session)
    sessions.open("e" * 64, account.id, dt.timedelta(seconds=-1))
    assert sessions.account_of("e" * 64) is None


def test_the_audit_log_keeps_who_did_what_newest_first(session):
    log = AuditLog(session)
    log.record("ani", "login")
    log.record("ani", "status_changed", "4821-7730", "diverifikasi")
    assert [(entry.action, entry.target) for entry in log.recent(actor="ani")] == [
        ("status_changed", "4821-7730"), ("login", None)]


def test_a_handover_is_held_by_one_person_and_a_resent_message_is_kept_once(session):
    handovers = HandoverRepository(session)
    handover = handovers.request("telegram", "telegram-abc", report_in_progress=True)
    assert handovers.taken_for("telegram-abc") is None
    handovers.take(handover.id, "ani", "Ani Rahma")
    assert handovers.taken_for("telegram-abc").id == handover.id
    with pytest.raises(HandoverError):
        handovers.take(handover.id, "gita")
    with pytest.raises(HandoverError):
        handovers.say(handover.id, "gita", "halo")
    handovers.say(handover.id, "ani", "Selamat siang")
    first = handovers.keep_inbound(handover.id, "jalan rusak", "telegram:1")
    again = handovers.keep_inbound(handover.id, "jalan rusak", "telegram:1")
    assert first.id == again.id
    pending = handovers.undelivered("telegram")
    assert [(item.kind, item.author) for item in pending] == [("taken", "Ani Rahma"), ("text", "ani")]
    assert handovers.mark_delivered(pending[0].message_id, "needs_template") is False
    assert handovers.mark_delivered(pending[0].message_id, "sent") is True
    handovers.hand_back(handover.id, "ani")
    assert handovers.taken_for("telegram-abc") is None
    assert [item.kind for item in handovers.undelivered("telegram")] == ["text", "returned"]
    assert [item.id for item in handovers.inbox()] == []
    assert [item.id for item in handovers.inbox(include_done=True)] == [handover.id]
