import datetime as dt

import pytest
from rasa_sdk.events import SlotSet

from accessibility.simple_language import check_simple
from bot.actions.status import MAX_PIN_ATTEMPTS, STATUS_SLOTS, ActionCheckStatus, ValidateStatusForm, simple_deadline_text
from storage.lifecycle import deadline_text, deadlines, format_date
from storage.models import Report, StatusChange
from tests.bot.actions.conftest import make_tracker, responses
from tests.bot.actions.test_status_and_conversation import OWNER, STRANGER, file_report

FILED = dt.datetime(2026, 11, 23, 3, 0)  # a Monday, 10.00 WIB


def report_with(status, changes=()):
    history = [StatusChange(id=1, status="diterima", changed_at=FILED)]
    history += [StatusChange(id=n, status=name, changed_at=FILED + dt.timedelta(days=days))
                for n, (name, days) in enumerate(changes, start=2)]
    return Report(status=status, created_at=FILED, history=history)


@pytest.mark.parametrize(
    "report, today, expected",
    [
        (report_with("diterima"), dt.date(2026, 11, 24), "Petugas akan memeriksa laporan ini paling lambat {verification}."),
        (report_with("diterima"), dt.date(2026, 12, 20),
         "Batas waktu pemeriksaan sudah lewat, yaitu {verification}.\nLaporan Anda akan kami dahulukan."),
        (report_with("diteruskan", [("diverifikasi", 1), ("diteruskan", 2)]), dt.date(2026, 11, 26),
         "Kantor yang mengurusnya akan menjawab paling lambat {response}."),
        (report_with("diteruskan", [("diverifikasi", 1), ("diteruskan", 2)]), dt.date(2026, 12, 20),
         "Kantor yang mengurusnya belum menjawab sampai batas waktu {response}."),
        (report_with("selesai", [("diverifikasi", 1), ("diteruskan", 2), ("ditindaklanjuti", 3), ("selesai", 4)]),
         dt.date(2026, 12, 20), ""),
    ],
)
def test_the_simple_deadline_says_the_same_clock_in_everyday_words(report, today, expected):
    due = deadlines(report, today)
    values = {"verification": format_date(due.verification_due),
              "response": format_date(due.response_due) if due.response_due else ""}
    text = simple_deadline_text(report, today)
    assert text == expected.format(**values)
    assert bool(text) == bool(deadline_text(report, today))
    assert check_simple(text, False) == []


async def test_a_simple_language_status_reply_uses_the_simple_deadline(database, dispatcher, domain):
    number = file_report(database)
    tracker = make_tracker({"tracking_number": number, "simple_language": True}, active_loop=None, sender_id=OWNER)
    await ActionCheckStatus().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_status", "utter_status_deadline"]
    assert dispatcher.messages[1]["deadline"].startswith("Petugas akan memeriksa laporan ini paling lambat ")


async def check_with_pin(dispatcher, domain, number, pin, attempts):
    slots = {"tracking_number": number, "status_pin": pin, "status_needs_pin": True, "pin_attempts": attempts}
    tracker = make_tracker(slots, active_loop=None, sender_id=STRANGER)
    return await ActionCheckStatus().run(dispatcher, tracker, domain)


async def test_three_wrong_pins_stop_the_pin_look_up_kindly(database, dispatcher, domain):
    number = file_report(database, sender=OWNER, privacy="anonim", pin="4321")
    attempts = None
    for expected in (1.0, 2.0, 3.0):
        events = await check_with_pin(dispatcher, domain, number, "1111", attempts)
        assert events == [SlotSet(name, None) for name in STATUS_SLOTS] + [SlotSet("pin_attempts", expected)]
        attempts = expected
    assert responses(dispatcher) == ["utter_status_not_found", "utter_status_not_found", "utter_status_pin_locked"]
    dispatcher.messages.clear()
    events = await check_with_pin(dispatcher, domain, number, "4321", float(MAX_PIN_ATTEMPTS))
    assert responses(dispatcher) == ["utter_status_pin_locked"]
    assert events == [SlotSet(name, None) for name in STATUS_SLOTS]


async def test_skipping_the_pin_is_not_a_wrong_attempt(database, dispatcher, domain):
    number = file_report(database, sender=OWNER, privacy="anonim", pin="4321")
    events = await check_with_pin(dispatcher, domain, number, "skip", 2.0)
    assert events == [SlotSet(name, None) for name in STATUS_SLOTS]
    assert responses(dispatcher) == ["utter_status_not_found"]


async def test_the_right_pin_within_the_limit_still_finds_the_report(database, dispatcher, domain):
    number = file_report(database, sender=OWNER, privacy="anonim", pin="4321")
    events = await check_with_pin(dispatcher, domain, number, "4321", 2.0)
    assert responses(dispatcher) == ["utter_status", "utter_status_deadline"]
    assert events == [SlotSet(name, None) for name in STATUS_SLOTS]


async def test_after_the_limit_no_pin_is_asked(database, dispatcher, domain):
    number = file_report(database, sender=OWNER, privacy="anonim", pin="4321")
    tracker = make_tracker({"requested_slot": "tracking_number", "pin_attempts": 3.0}, text=number,
                           intent="check_status", active_loop="status_form", sender_id=STRANGER)
    events = await ValidateStatusForm().run(dispatcher, tracker, domain)
    assert events == [
        SlotSet("tracking_number", number),
        SlotSet("status_needs_pin", True),
        SlotSet("requested_slot", None),
    ]


async def test_the_owner_is_never_locked_out_of_their_own_report(database, dispatcher, domain):
    number = file_report(database, sender=OWNER)
    tracker = make_tracker({"tracking_number": number, "pin_attempts": 3.0}, active_loop=None, sender_id=OWNER)
    await ActionCheckStatus().run(dispatcher, tracker, domain)
    assert responses(dispatcher) == ["utter_status", "utter_status_deadline"]
