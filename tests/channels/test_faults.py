from __future__ import annotations

import datetime as dt
import json
import random
import signal
import sqlite3
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.rasa_project import wait_until_ready
from channels.messages import KEPT_FOR_LATER
from storage.models import Base, InboundDelivery, PendingReply, Report, Reporter
from tests.channels.e2e_support import (ACCOUNT, AUTH_TOKEN, SECRET, SMS_FROM, WHATSAPP_FROM, TelegramUser,
                                        TwilioUser, _post, channel_stack, delivery_state, tracker, wait_handled)
from tests.channels.fakes.twilio_api import sign

GREETING = "Halo, saya SapaLapor"
ACTIONS, RASA, GATEWAY = 0, 1, 2


@pytest.fixture(scope="module")
def stack(trained_model, tmp_path_factory):
    with channel_stack(trained_model, tmp_path_factory.mktemp("faults"),
                       extra_env={"SAPALAPOR_RETRY_SECONDS": "1"}) as running:
        yield running


def send_sms(stack, user: TwilioUser, text: str) -> str:
    """Like TwilioUser.say, without waiting for the message to be handled."""
    sid = f"SM{uuid.uuid4().hex}"
    params = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT, "From": user.address, "To": user.to,
              "Body": text, "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
    url = f"{stack['url']}/webhooks/{user.channel}/webhook"
    status = _post(url, urllib.parse.urlencode(params).encode(),
                   {"Content-Type": "application/x-www-form-urlencoded",
                    "X-Twilio-Signature": sign(AUTH_TOKEN, url, params)})
    assert status == 200
    return sid


def eventually(predicate, timeout: float = 240.0, what: str = "the expected state") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"never reached {what}")


def user_events(stack, user, message_id: str) -> list:
    return [event for event in tracker(stack, user.sender)["events"]
            if event["event"] == "user" and event.get("message_id") == message_id]


def greetings(user) -> int:
    return sum(GREETING in reply for reply in user.replies())


def restart(stack, index: int) -> None:
    servers = stack["servers"]
    if index == ACTIONS:
        servers.restart(ACTIONS, servers.action_url.replace("/webhook", "/health"))
    elif index == RASA:
        servers.restart(RASA, f"{servers.rasa_url}/status")
    else:
        servers.restart(GATEWAY, f"{stack['url']}/")
        for channel in ("telegram", "sms", "whatsapp"):
            wait_until_ready(f"{stack['url']}/webhooks/{channel}/", servers.gateway)


def test_a_message_sent_while_the_action_server_is_down_is_apologised_for_then_answered_once(stack):
    servers = stack["servers"]
    user = TwilioUser(stack, "sms", "+6281299990001")
    servers.processes[ACTIONS].kill()
    servers.processes[ACTIONS].wait()
    try:
        sid = send_sms(stack, user, "LAPOR")
        eventually(lambda: KEPT_FOR_LATER.regular in user.replies(), 120, "the apology")
        assert delivery_state(stack, "sms", sid) == "received"  # kept for a retry
        assert greetings(user) == 0
    finally:
        restart(stack, ACTIONS)
    assert wait_handled(stack, "sms", sid) == "handled"

    assert user.replies().count(KEPT_FOR_LATER.regular) == 1
    assert greetings(user) == 1
    assert len(user_events(stack, user, f"sms:{sid}")) == 1


def test_rasa_killed_mid_turn_runs_the_turn_once_after_its_restart(stack):
    servers = stack["servers"]
    user = TwilioUser(stack, "sms", "+6281299990002")
    action_server = servers.processes[ACTIONS]
    action_server.send_signal(signal.SIGSTOP)  # Rasa's turn waits on its first action call
    try:
        sid = send_sms(stack, user, "LAPOR")
        time.sleep(3)
        servers.processes[RASA].kill()
        servers.processes[RASA].wait()
    finally:
        action_server.send_signal(signal.SIGCONT)
    restart(stack, RASA)
    assert wait_handled(stack, "sms", sid) == "handled"

    assert greetings(user) == 1
    assert len(user_events(stack, user, f"sms:{sid}")) == 1


def pending_replies(stack) -> int:
    with stack["database"].session() as session:
        return session.execute(select(func.count()).select_from(PendingReply)).scalar_one()


def test_the_gateway_killed_while_its_reply_is_out_sends_it_once_after_restart_without_rerunning_the_turn(stack):
    servers = stack["servers"]
    fake = stack["twilio"]
    user = TwilioUser(stack, "sms", "+6281299990003")
    held_before = fake.held
    fake.hold_sends = True  # Rasa's turn is done and saved; the reply is on its way out (and never arrives)
    try:
        sid = send_sms(stack, user, "LAPOR")
        eventually(lambda: fake.held > held_before, 120, "the reply being sent")
        servers.processes[GATEWAY].kill()
        servers.processes[GATEWAY].wait()
    finally:
        fake.hold_sends = False
    # The turn's replies were recorded with "handled", before the provider was called.
    assert delivery_state(stack, "sms", sid) == "handled"
    assert pending_replies(stack) >= 1
    restart(stack, GATEWAY)
    eventually(lambda: pending_replies(stack) == 0, 120, "the recorded replies sent")

    assert greetings(user) == 1
    events = tracker(stack, user.sender)["events"]
    assert len([event for event in events if event["event"] == "user" and event.get("message_id") == f"sms:{sid}"]) == 1
    assert sum(GREETING in (event.get("text") or "") for event in events if event["event"] == "bot") == 1


def test_the_gateway_killed_after_twilio_took_its_reply_never_sends_that_reply_again(stack):
    servers = stack["servers"]
    fake = stack["twilio"]
    user = TwilioUser(stack, "sms", "+6281299990005")
    lists_before = fake.lists
    fake.hold_answers = True  # Twilio has the message (the citizen gets it); its answer never comes back
    try:
        sid = send_sms(stack, user, "LAPOR")
        eventually(lambda: greetings(user) == 1, 120, "the reply reaching Twilio")
        servers.processes[GATEWAY].kill()
        servers.processes[GATEWAY].wait()
    finally:
        fake.hold_answers = False
    restart(stack, GATEWAY)
    eventually(lambda: pending_replies(stack) == 0, 120, "the recorded replies settled")
    user.say("1")  # and the conversation goes on normally

    assert delivery_state(stack, "sms", sid) == "handled"
    assert fake.lists > lists_before  # asked Twilio instead of sending blindly
    assert greetings(user) == 1
    turn_replies = user.replies()
    assert len(turn_replies) >= 2 and len(turn_replies) == len(set(turn_replies))


def test_the_gateway_killed_before_its_reply_went_out_sends_it_once_after_restart(stack):
    servers = stack["servers"]
    fake = stack["twilio"]
    user = TwilioUser(stack, "sms", "+6281299990006")
    fake.busy_once = 10 ** 6  # every send refused with 429: nothing goes out
    try:
        sid = send_sms(stack, user, "LAPOR")
        eventually(lambda: pending_replies(stack) >= 1 and delivery_state(stack, "sms", sid) == "handled",
                   120, "the reply recorded and refused")
        time.sleep(1.5)  # one more refused try, then the crash
        assert greetings(user) == 0
        servers.processes[GATEWAY].kill()
        servers.processes[GATEWAY].wait()
    finally:
        fake.busy_once = 0
    restart(stack, GATEWAY)
    eventually(lambda: pending_replies(stack) == 0, 120, "the recorded replies sent")

    assert greetings(user) == 1
    assert len(user.replies()) == len(set(user.replies()))


def test_a_provider_answering_5xx_gets_the_reply_once_after_retries(stack):
    fake = stack["twilio"]
    user = TwilioUser(stack, "sms", "+6281299990004")
    fake.busy_once = 2

    user.say("LAPOR")

    assert greetings(user) == 1
    assert len(user.replies()) == len(set(user.replies()))


ANSWERS = {
    "report_type": "pengaduan",
    "description": ("Lampu jalan di depan balai desa mati sejak tiga minggu lalu, "
                    "malam hari gelap sekali dan sudah ada yang jatuh"),
    "location": "Jalan Merdeka nomor 10, Kelurahan Citarum, Kecamatan Bandung Wetan, Kota Bandung",
    "incident_date": "kemarin",
    "privacy": "biasa",
}


def reach_the_read_back(stack, user, answers) -> None:
    user.say("saya mau buat pengaduan")
    for _ in range(16):
        slot = tracker(stack, user.sender)["slots"].get("requested_slot")
        if slot == "report_confirmed":
            return
        assert slot is not None, f"the dialogue stopped asking: {user.replies()}"
        user.answer(answers.get(slot, "ya"))
    raise AssertionError(f"never reached the read-back: {user.replies()}")


def reports_of(stack, user) -> list:
    hashed = user.sender.split("-", 1)[1]
    with stack["database"].session() as session:
        return session.execute(select(Report).join(Reporter, Report.reporter_id == Reporter.id).where(
            Reporter.channel == user.channel, Reporter.identity_hash == hashed)).scalars().all()


def post_form(stack, user, text: str, sid: str) -> int:
    params = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT, "From": user.address, "To": user.to,
              "Body": text, "NumMedia": "0", "NumSegments": "1", "SmsStatus": "received", "ApiVersion": "2010-04-01"}
    url = f"{stack['url']}/webhooks/{user.channel}/webhook"
    return _post(url, urllib.parse.urlencode(params).encode(),
                 {"Content-Type": "application/x-www-form-urlencoded",
                  "X-Twilio-Signature": sign(AUTH_TOKEN, url, params)})


def test_a_locked_database_is_answered_503_or_queued_and_every_message_is_answered_once(stack):
    filer = TwilioUser(stack, "sms", "+6281299990007")
    reach_the_read_back(stack, filer, ANSWERS)
    citizens = [TwilioUser(stack, "sms", f"+62812999901{index:02d}") for index in range(4)]
    sids = {user.address: f"SM{uuid.uuid4().hex}" for user in citizens}
    confirmed = send_sms(stack, filer, "ya")  # recorded; its turn runs into the lock
    lock = sqlite3.connect(stack["database"].sqlite_path, timeout=30, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    locked_at = time.monotonic()
    try:
        with ThreadPoolExecutor(len(citizens)) as pool:
            statuses = list(pool.map(lambda user: post_form(stack, user, "LAPOR", sids[user.address]), citizens))
        time.sleep(max(0.0, 8.0 - (time.monotonic() - locked_at)))  # past SQLite's 5 s busy timeout
    finally:
        lock.rollback()
        lock.close()

    assert set(statuses) <= {200, 503} and 503 in statuses
    for user, status in zip(citizens, statuses):
        while status != 200:  # as Twilio does with an answer it could not use: sent again
            time.sleep(1)
            status = post_form(stack, user, "LAPOR", sids[user.address])
        assert wait_handled(stack, "sms", sids[user.address]) == "handled"
    assert wait_handled(stack, "sms", confirmed) == "handled"
    eventually(lambda: pending_replies(stack) == 0, 120, "every recorded reply sent")
    if not reports_of(stack, filer):  # the filing met the lock: the citizen was told, and says yes again
        filer.say("ya")

    for user in citizens:
        assert greetings(user) == 1
        assert len(user.replies()) == len(set(user.replies()))
    [report] = reports_of(stack, filer)
    assert sum(report.tracking_number in reply for reply in filer.replies()) == 1
    with stack["database"].session() as session:
        assert session.execute(select(func.count()).select_from(InboundDelivery).where(
            InboundDelivery.state == "failed")).scalar_one() == 0


IDENTITY_FREE_TABLES = {"reports"}  # checked on its own: it must hold no identity at all


def linking_rows(database, report: Report, identities: list) -> list:
    """(table, column) pairs where a row holds one of ``identities`` and a value of the report."""
    numbers = {report.tracking_number, report.tracking_number.replace("-", "")}
    found = []
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)).mappings():
                texts = {name: str(value) for name, value in row.items() if value is not None}
                if not any(identity in text for text in texts.values() for identity in identities):
                    continue
                for name, value in row.items():
                    # A time kept to the hour says nothing of the second (a filing at hh:00:00 would
                    # otherwise look linked by it).
                    to_the_hour = isinstance(value, dt.datetime) and value == value.replace(minute=0, second=0,
                                                                                             microsecond=0)
                    near_filing = (isinstance(value, dt.datetime) and not to_the_hour
                                   and abs(value - report.created_at) <= dt.timedelta(seconds=1))
                    if (near_filing or (name.endswith("report_id") and value == report.id)
                            or any(number in texts.get(name, "") for number in numbers)):
                        found.append((table.name, name))
    return found


def linking_log_lines(log_files, report: Report, identities: list) -> list:
    numbers = {report.tracking_number, report.tracking_number.replace("-", "")}
    seconds = {(report.created_at + dt.timedelta(seconds=delta)).strftime("%Y-%m-%d %H:%M:%S") for delta in (-1, 0, 1)}
    found = []
    for path in log_files:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not any(identity in line for identity in identities):
                continue
            if any(number in line for number in numbers) or any(second in line.replace("T", " ") for second in seconds):
                found.append(f"{path.name}: {line[:160]}")
    return found


def test_an_anonim_report_filed_through_the_gateway_is_linked_to_its_sender_nowhere(stack):
    user = TwilioUser(stack, "sms", "+6281299990009")
    reach_the_read_back(stack, user, {**ANSWERS, "privacy": "anonim"})
    user.say("ya")
    with stack["database"].session() as session:
        report = session.execute(select(Report).where(Report.privacy == "anonim").order_by(Report.id.desc())).scalars().first()
    assert report is not None and report.reporter_id is None
    assert any(report.tracking_number in reply for reply in user.replies())  # the citizen has it
    hashed = user.sender.split("-", 1)[1]
    identities = [hashed, user.address, user.address.lstrip("+"), user.sender]

    assert linking_rows(stack["database"], report, identities) == []
    with stack["database"].engine.connect() as connection:
        row = connection.execute(select(Report.__table__).where(Report.id == report.id)).mappings().one()
    assert not any(identity in str(value) for value in row.values() for identity in identities)
    assert linking_log_lines(stack["servers"].log_files, report, identities + [hashed[:8]]) == []


# ------------------------------------------------------------------------------------ fuzz
FUZZ_PER_PROVIDER = 200
STRANGE_TEXTS = ["/", "//", "/ ", "", " ", "\u200b", "👍", "!!!", "/start", "/start " + "A" * 300, "\x00", "\ud7ff",
                 "\u202e", "%s%n", "{{slot}}", '/affirm{"privacy": "anonim"}', "' OR 1=1 --", "<script>", "1" * 64,
                 "x" * 5001, "ya " * 2000, "\n" * 100]


def random_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 2 else 6)
    if kind == 0:
        return rng.choice(STRANGE_TEXTS)
    if kind == 1:
        return rng.randint(-2**63, 2**63)
    if kind == 2:
        return rng.random() * 1e308
    if kind == 3:
        return None
    if kind == 4:
        return rng.choice([True, False])
    if kind == 5:
        return "".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(rng.randrange(0, 40))
                       ).encode("utf-8", "replace").decode("utf-8", "replace")
    if kind == 6:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(["text", "chat", "id", "from", "voice", "file_id", "data", "message"]): random_value(rng, depth + 1)
            for _ in range(rng.randrange(0, 4))}


def fuzzed_update(rng: random.Random, index: int) -> dict:
    chat = 7700000000 + index
    message = {"message_id": index, "date": int(time.time()), "text": rng.choice(STRANGE_TEXTS),
               "chat": {"id": chat, "type": "private", "first_name": "Fuzz"},
               "from": {"id": chat, "is_bot": False, "first_name": "Fuzz"}}
    update = {"update_id": 880000000 + index, "message": message}
    for _ in range(rng.randrange(0, 4)):
        targets = [update, message, message.get("chat"), message.get("from")]
        target = rng.choice([item for item in targets if isinstance(item, dict)])
        key = rng.choice(list(target) + ["voice", "photo", "document", "location", "callback_query", "caption",
                                          "edited_message", "entities", "sticker"])
        target[key] = random_value(rng)
    if rng.random() < 0.1:
        update["update_id"] = random_value(rng)
    return update


def fuzzed_form(rng: random.Random, index: int, channel: str) -> dict:
    number = f"+62877{index:07d}"
    prefix = "whatsapp:" if channel == "whatsapp" else ""
    sid = f"SM{uuid.UUID(int=rng.getrandbits(128)).hex}"
    params = {"MessageSid": sid, "From": f"{prefix}{number}", "To": f"{prefix}{WHATSAPP_FROM if prefix else SMS_FROM}",
              "Body": rng.choice(STRANGE_TEXTS), "NumMedia": "0", "AccountSid": ACCOUNT}
    for _ in range(rng.randrange(0, 4)):
        key = rng.choice(list(params) + ["NumMedia", "NumSegments", "MediaUrl0", "MediaContentType0", "Latitude"])
        value = random_value(rng)
        params[key] = value if isinstance(value, str) else json.dumps(value)
    return {key: value.replace("\x00", "") for key, value in params.items()}


def test_hundreds_of_fuzzed_deliveries_get_no_5xx_crash_nothing_and_leave_a_working_assistant(stack):
    rng = random.Random(13)
    statuses = []
    for index in range(FUZZ_PER_PROVIDER):
        body = json.dumps(fuzzed_update(rng, index)).encode()
        statuses.append(("telegram", _post(f"{stack['url']}/webhooks/telegram/webhook", body,
                                           {"Content-Type": "application/json",
                                            "X-Telegram-Bot-Api-Secret-Token": SECRET})))
    for channel in ("sms", "whatsapp"):
        url = f"{stack['url']}/webhooks/{channel}/webhook"
        for index in range(FUZZ_PER_PROVIDER):
            params = fuzzed_form(rng, index, channel)
            signature = sign(AUTH_TOKEN, url, params) if rng.random() < 0.9 else "forged"
            statuses.append((channel, _post(url, urllib.parse.urlencode(params).encode(),
                                            {"Content-Type": "application/x-www-form-urlencoded",
                                             "X-Twilio-Signature": signature})))

    assert [entry for entry in statuses if entry[1] >= 500] == []
    assert all(process.poll() is None for process in stack["servers"].processes)

    def settled() -> bool:
        with stack["database"].session() as session:
            return session.execute(select(func.count()).select_from(InboundDelivery).where(
                InboundDelivery.state == "received")).scalar_one() == 0
    eventually(settled, 600, "every fuzzed delivery handled")
    with stack["database"].session() as session:
        failed = session.execute(select(InboundDelivery.error).where(InboundDelivery.state == "failed")).scalars()
        # Only an update whose made-up chat id Telegram does not know ends unanswered.
        assert [error for error in failed if "chat not found" not in error.lower()] == []

    telegram = TelegramUser(stack, 5512349913)
    telegram.say("/start")
    sms = TwilioUser(stack, "sms", "+6281299990013")
    sms.say("LAPOR")
    assert any(GREETING in reply for reply in telegram.replies())
    assert greetings(sms) == 1
