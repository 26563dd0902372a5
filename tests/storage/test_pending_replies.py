from sqlalchemy import func, select

from storage.models import PendingReply
from storage.repositories.pending_replies import PendingReplies

KEY = "b" * 64


def entry(text):
    return {"reply": {"text": text, "buttons": [], "image": None}, "voice_ogg": None}


def test_a_senders_replies_come_back_in_the_order_their_turns_ran(session):
    replies = PendingReplies(session)
    replies.record(11, "sms", "+6281234567890", [entry("satu"), entry("dua")], sender_key=KEY)
    replies.record(12, "sms", "+6281234567890", [entry("tiga")], sender_key=KEY)
    replies.record(13, "sms", "+6281234567891", [entry("lain")], sender_key="c" * 64)

    assert [row.reply["text"] for row in replies.of_sender("sms", KEY)] == ["satu", "dua", "tiga"]
    assert replies.queues("sms") == [(KEY, 11), ("c" * 64, 13)]


def test_a_sent_reply_leaves_nothing_behind(session):
    replies = PendingReplies(session)
    replies.record(21, "telegram", "5512345678", [entry("Nomor laporan Anda: 4821-7730")], sender_key=KEY)
    [row] = replies.of_delivery(21)

    replies.sent(row.id)

    assert session.execute(select(func.count()).select_from(PendingReply)).scalar_one() == 0


def test_a_reply_the_provider_could_not_take_is_counted_and_kept(session):
    replies = PendingReplies(session)
    replies.record(31, "telegram", "5512345678", [entry("satu")], sender_key=KEY)
    [row] = replies.of_delivery(31)

    replies.not_sent(row.id)
    session.expire_all()

    assert [r.attempts for r in replies.of_delivery(31)] == [1]


def test_giving_up_on_a_delivery_drops_only_its_replies(session):
    replies = PendingReplies(session)
    replies.record(41, "sms", "+6281234567890", [entry("satu"), entry("dua")], sender_key=KEY)
    replies.record(42, "sms", "+6281234567890", [entry("tiga")], sender_key=KEY)

    assert replies.give_up(41) == 2

    assert [row.reply["text"] for row in replies.of_sender("sms", KEY)] == ["tiga"]
