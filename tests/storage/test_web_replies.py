from __future__ import annotations

import datetime as dt

from storage.models import WebReply
from storage.repositories.web_replies import MAX_PER_DEVICE, WebReplyLog

DEVICE = "d" * 64
OTHER = "e" * 64


def test_a_retried_turn_stores_its_replies_once(session):
    mailbox = WebReplyLog(session)
    first = mailbox.add(DEVICE, "delivery-1#0", "reply", {"text": "Di mana tempatnya?"})

    assert mailbox.add(DEVICE, "delivery-1#0", "reply", {"text": "Di mana tempatnya?"}) is None
    assert [row.id for row in mailbox.after(DEVICE, 0)] == [first]


def test_a_confirmed_reply_loses_its_content_and_its_id_is_never_given_again(session):
    mailbox = WebReplyLog(session)
    seen = mailbox.add(DEVICE, "delivery-1#0", "reply", {"text": "Nomor laporan Anda: 4821-7730"}, b"OggS voice")
    mailbox.acknowledge(DEVICE, seen)
    later = mailbox.add(DEVICE, "delivery-2#0", "reply", {"text": "Terima kasih."})

    kept = session.get(WebReply, seen)
    assert (kept.kind, kept.body, kept.voice_ogg) == ("seen", {}, None)
    assert later > seen
    assert [row.id for row in mailbox.after(DEVICE, 0)] == [later] and mailbox.count(DEVICE) == 1


def test_each_device_sees_only_its_own_replies_and_keeps_a_bounded_number(session):
    mailbox = WebReplyLog(session)
    for index in range(MAX_PER_DEVICE + 5):
        mailbox.add(DEVICE, f"delivery-{index}#0", "reply", {"text": f"balasan {index}"})
    mailbox.add(OTHER, "delivery-x#0", "reply", {"text": "untuk perangkat lain"})

    texts = [row.body["text"] for row in mailbox.after(DEVICE, 0)]
    assert len(texts) == MAX_PER_DEVICE and texts[0] == "balasan 5" and "untuk perangkat lain" not in texts
    assert mailbox.forget(DEVICE) == MAX_PER_DEVICE and mailbox.count(OTHER) == 1


def test_replies_nobody_fetched_are_forgotten_after_the_retention(session):
    mailbox = WebReplyLog(session)
    mailbox.add(DEVICE, "delivery-1#0", "reply", {"text": "lama"})

    assert mailbox.purge(dt.timedelta(hours=24)) == 0
    assert mailbox.purge(dt.datetime.utcnow() + dt.timedelta(seconds=5)) == 1
