import datetime as dt

import pytest

from storage.measurement import FUNNEL_STEPS, record_step
from storage.outreach import (
    CODE_ALPHABET,
    EventError,
    canonical_code,
    Stat,
    create_event,
    disclose,
    disclose_text,
    get_event,
    outreach_figures,
)
from tests.bot.outreach.scenario import DAY, NOW, open_session, record_scenario


@pytest.fixture
def session(tmp_path):
    with open_session(tmp_path) as session:
        yield session


@pytest.fixture
def figures(session):
    event = create_event(session, "Sosialisasi LAPOR!", "Bandung", DAY, "Tunanetra", code="SOSBDG01")
    record_scenario(session, event.code)
    return outreach_figures(session, start=DAY, end=DAY, event_code="sosbdg01", now=NOW)


def raw(stats):
    return {key: stat.raw for key, stat in stats.items()}


def test_generated_codes_are_short_unambiguous_and_unique(session):
    codes = {create_event(session, f"Acara {n}", "Kota Bandung", DAY, "Umum").code for n in range(40)}
    assert len(codes) == 40
    for code in codes:
        assert 4 <= len(code) <= 12 and code.isupper() and code.startswith("BAN")
        assert set(code) <= set(CODE_ALPHABET) and not set(code) & set("0O1I")
        assert any(c.isdigit() for c in code)


def test_events_are_found_case_insensitively_and_despite_0_and_o_mixups(session):
    event = create_event(session, "Sosialisasi", "Bandung", DAY, "Tuli", code="sosbdg01")
    session.commit()
    assert event.code == "SOSBDG01"
    assert get_event(session, "sosbdg01").id == event.id
    assert get_event(session, "SOSBDGO1").id == event.id
    assert get_event(session, "SOSBDGOI").id == event.id
    assert get_event(session, "SOSBDG02") is None
    assert get_event(session, "") is None
    assert (canonical_code(session, "sosbdgo1"), canonical_code(session, "NOPE99")) == ("SOSBDG01", None)


@pytest.mark.parametrize("code", ["SOS", "SOSIALISASI", "2026", "SOS BDG", "SOS-BDG1", "A" * 12 + "1"])
def test_chosen_codes_must_be_letters_and_digits_of_both_kinds(session, code):
    with pytest.raises(EventError):
        create_event(session, "Acara", "Bandung", DAY, "Umum", code=code)


def test_a_chosen_code_that_looks_like_an_existing_one_is_refused(session):
    create_event(session, "Acara", "Bandung", DAY, "Umum", code="SOSBDG01")
    with pytest.raises(EventError):
        create_event(session, "Acara lain", "Bandung", DAY, "Umum", code="SOSBDGO1")


def test_an_event_needs_a_name_place_and_target_group(session):
    with pytest.raises(EventError):
        create_event(session, " ", "Bandung", DAY, "Umum")


def test_totals_match_the_scripted_conversations_exactly(figures):
    total = figures.total
    assert (total.started.raw, total.filed.raw, total.cancelled.raw, total.abandoned.raw, total.in_progress.raw) == (
        14, 7, 2, 4, 1,
    )
    assert total.completion_rate.raw == pytest.approx(0.5)
    assert (total.voice.raw, total.simple_language.raw) == (5, 3)
    assert total.voice_share.raw == pytest.approx(5 / 14)
    assert total.median_minutes_to_file.raw == 14


def test_funnel_counts_who_reached_each_step_and_where_they_gave_up(figures):
    total = figures.total
    assert [total.reached[step].raw for step in FUNNEL_STEPS] == [14, 13, 12, 9, 7, 7, 7, 7]
    assert {step: stat.raw for step, stat in total.gave_up_at.items() if stat.raw} == {
        "slot:description": 1, "slot:location": 3, "slot:incident_date": 2,
    }
    assert total.most_given_up_step.raw == "slot:location"


def test_figures_are_broken_down_by_channel(figures):
    assert list(figures.columns) == ["semua", "telegram", "whatsapp", "sms"]
    started = {name: column.started.raw for name, column in figures.columns.items()}
    filed = {name: column.filed.raw for name, column in figures.columns.items()}
    assert started == {"semua": 14, "telegram": 7, "whatsapp": 3, "sms": 4}
    assert filed == {"semua": 7, "telegram": 5, "whatsapp": 1, "sms": 1}
    telegram = figures.columns["telegram"]
    assert (telegram.voice.raw, telegram.simple_language.raw, telegram.median_minutes_to_file.raw) == (2, 2, 14)
    assert figures.columns["sms"].most_given_up_step.raw == "slot:incident_date"


def test_satisfaction_comes_from_ratings_of_the_events_reports_in_the_period(figures):
    after_filing = figures.total.satisfaction_after_filing
    assert after_filing.ratings.raw == 7
    assert after_filing.mean.raw == pytest.approx(4.0)
    assert raw(after_filing.distribution) == {1: 0, 2: 1, 3: 1, 4: 2, 5: 3}
    assert figures.columns["telegram"].satisfaction_after_filing.mean.raw == pytest.approx(4.2)
    assert figures.total.satisfaction_after_closed.ratings.raw == 1


def test_groups_below_five_are_shown_as_less_than_five_and_their_shares_withheld(figures):
    total, telegram, sms = figures.total, figures.columns["telegram"], figures.columns["sms"]
    assert (total.started.shown, total.filed.shown, total.voice.shown, total.voice_share.shown) == ("14", "7", "5", "36%")
    assert (total.simple_language.shown, total.simple_language_share.shown) == ("< 5", "-")
    assert (total.most_given_up_step.shown, total.abandoned.shown) == ("-", "< 5")
    assert (telegram.completion_rate.shown, telegram.satisfaction_after_filing.mean.shown) == ("71%", "4.2")
    assert (sms.started.shown, sms.completion_rate.shown, sms.median_minutes_to_file.shown) == ("< 5", "-", "-")
    assert total.satisfaction_after_filing.distribution[5].shown == "< 5"


def test_every_row_of_the_report_goes_through_the_privacy_gate(figures):
    shown = [text for _key, _label, cells in figures.rows() for text in cells.values()]
    assert not set(shown) & {"0", "1", "2", "3", "4"}
    assert shown.count("< 5") > 20 and "-" in shown
    rows = {key: cells for key, _label, cells in figures.rows()}
    assert rows["started"] == {"semua": "14", "telegram": "7", "whatsapp": "< 5", "sms": "< 5"}
    assert rows["satisfaction_after_filing_mean"] == {"semua": "4.0", "telegram": "4.2", "whatsapp": "-", "sms": "-"}
    assert rows["reached:slot:location"] == {"semua": "9", "telegram": "5", "whatsapp": "< 5", "sms": "< 5"}


@pytest.mark.parametrize(
    "stat, text, visible",
    [
        (Stat.count(0), "< 5", None),
        (Stat.count(4), "< 5", None),
        (Stat.count(5), "5", 5),
        (Stat(0.25, "share", (5, 20)), "25%", 0.25),
        (Stat(0.2, "share", (4, 20)), "-", None),
        (Stat(4.5, "mean", (3,)), "-", None),
        (Stat(None, "minutes", (0,)), "-", None),
    ],
)
def test_the_privacy_gate_hides_every_figure_from_a_group_below_five(stat, text, visible):
    assert (disclose_text(stat), disclose(stat)) == (text, visible)


def test_a_report_without_an_event_code_counts_every_conversation_of_the_period(session):
    record_scenario(session, "SOSBDG01")
    figures = outreach_figures(session, start=DAY, end=DAY, now=NOW)
    assert (figures.total.started.raw, figures.total.filed.raw) == (16, 9)
    assert figures.event is None


def test_a_period_that_ends_before_it_starts_is_refused(session):
    with pytest.raises(ValueError):
        outreach_figures(session, start=DAY, end=DAY - dt.timedelta(days=1))


def test_a_lone_hidden_channel_cannot_be_recomputed_from_the_total(session):
    start = dt.datetime(2026, 11, 2, 3, 0)
    for index, channel in enumerate(["telegram"] * 6 + ["whatsapp"] * 7 + ["sms"] * 2):
        for position, step in enumerate(("started", "filed")):
            record_step(session, conversation_ref=f"c{index}", channel=channel, step=step, event_code="SOS9",
                        occurred_at=start + dt.timedelta(minutes=index + position))
    session.commit()
    figures = outreach_figures(session, start=DAY, end=DAY, now=NOW)
    started = {name: column.started.shown for name, column in figures.columns.items()}
    assert started == {"semua": "15", "telegram": "< 5", "whatsapp": "7", "sms": "< 5"}
    assert figures.columns["telegram"].started.raw == 6
    assert figures.columns["telegram"].completion_rate.shown == "-"
    assert figures.columns["whatsapp"].completion_rate.shown == "100%"
