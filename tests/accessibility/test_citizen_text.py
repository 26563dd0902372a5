from __future__ import annotations

import datetime as dt
import re
import string

import pytest

from shared.citizen_text import catalogue, say
from accessibility.simple_language import check_simple, glossary_hits
from accessibility.status_updates import RATING_BUTTONS, closing_question, status_update_text
from storage.models import REPORT_STATUSES

# Words the status updates used to carry and the glossary forbids, in either variant.
NEVER = ("instansi", "berwenang", "ditindaklanjuti")
AGENCY = "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Bandung"


def other_catalogues() -> dict:
    """The catalogues other modules keep (Message objects with regular/simple), checked by the same rules."""
    found = {}
    for module_name in ("channels.messages", "channels.handover"):
        module = pytest.importorskip(module_name)
        for key, message in getattr(module, "CATALOGUE", {}).items():
            found[f"{module_name}:{key}"] = (message.regular, message.simple)
    return found


def every_entry() -> dict:
    entries = {key: (item.regular, item.simple) for key, item in catalogue().items()}
    entries.update(other_catalogues())
    return entries


def test_every_simple_variant_follows_the_simple_language_rules():
    problems = []
    for key, (_regular, simple) in every_entry().items():
        has_buttons = key == "closing_rating.question"
        titles = [button["title"] for button in RATING_BUTTONS] if has_buttons else None
        problems += [f"{key}: {violation}" for violation in check_simple(simple, has_buttons, button_titles=titles)]
    assert not problems, "\n".join(problems)


def test_no_variant_uses_the_words_the_glossary_forbids():
    found = [(key, word) for key, variants in every_entry().items() for text in variants for word in NEVER
             if word in text.lower()]
    assert found == []


def test_a_simple_variant_takes_no_value_the_regular_one_lacks():
    def fields(text: str) -> set:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    # It may say less (the simple "waiting" leaves out the service hours), never something else.
    assert [key for key, item in catalogue().items() if not fields(item.simple) <= fields(item.regular)] == []


@pytest.mark.parametrize("status", REPORT_STATUSES)
def test_every_status_update_is_plain_in_its_simple_form(status):
    # An office's name is one unit, as a {slot} is for the rules: a short one keeps the count honest.
    text = status_update_text("4821-7730", status, "Dinas Sosial", "Mohon kirim foto jalan.", dt.date(2026, 12, 9),
                              simple=True)
    assert "4821-7730" in text
    assert not re.search(r"\{\w+\}", text)
    assert check_simple(text, False) == []
    assert glossary_hits(text) == []


@pytest.mark.parametrize("status", REPORT_STATUSES)
def test_every_status_update_names_the_report_and_has_no_forbidden_word(status):
    text = status_update_text("4821-7730", status, None, None, None)
    assert text.startswith("Laporan 4821-7730") or text.startswith("Status laporan 4821-7730")
    assert not [word for word in NEVER if word in text.lower()]


def test_a_forwarded_report_names_the_office_and_its_deadline_in_both_forms():
    for simple in (False, True):
        text = status_update_text("4821-7730", "diteruskan", AGENCY, None, dt.date(2026, 12, 9), simple=simple)
        assert AGENCY in text and "9 Desember 2026" in text


def test_the_closing_question_offers_the_same_five_answers_as_after_filing():
    for simple in (False, True):
        question = closing_question(simple)
        assert [button["title"] for button in question["buttons"]] == [
            "1 Sangat tidak puas", "2 Tidak puas", "3 Biasa saja", "4 Puas", "5 Sangat puas"]
        assert question["expects"] == "rating"
    assert say("closing_rating.question", True).count("?") == 1
