from __future__ import annotations

import csv
import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.cli import main
from bot.rasa_project import free_port
from storage.measurement import DEFAULT_IDLE_MINUTES
from storage.models import ConversationEvent, Report, SatisfactionRating
from storage.outreach import ALL_CHANNELS, MAIN_CHANNELS, SUPPRESSED, WITHHELD, create_event, outreach_figures
from tests.bot.outreach.outreach_day import (BEFORE_REQUEST, Script, expected_columns, minutes_to_file_bounds, play,
                                             raw_figures)
from tests.channels.e2e_support import channel_stack

CODE = "SBY26E2E"
SCRIPTS = [
    Script("voice-telegram", "telegram", voice=True, rating=4),
    Script("voice-whatsapp", "whatsapp", voice=True, rating=4, location="Kabupaten Garut"),
    Script("simple-telegram", "telegram", simple=True, rating=4),
    Script("simple-sms", "sms", simple=True, rating=3, location="Kabupaten Garut"),
    Script("text-telegram", "telegram", rating=5, location="Kabupaten Garut"),
    Script("text-whatsapp", "whatsapp", rating=5),
    Script("text-sms", "sms", rating=2),
    Script("second-telegram", "telegram", rating=5),
    Script("only-opened-telegram", "telegram", stop_before=BEFORE_REQUEST),
    Script("simple-whatsapp-stops-at-location", "whatsapp", simple=True, stop_before="location"),
    Script("sms-stops-at-privacy", "sms", stop_before="privacy"),
    Script("whatsapp-cancels-at-date", "whatsapp", cancel_at="incident_date"),
    Script("telegram-without-code", "telegram", with_code=False, rating=1),
]
CHART_SUFFIXES = ("corong", "saluran", "aksesibilitas", "kepuasan")
IDLE_MINUTES_FOR_COMMAND = 1


@pytest.fixture(scope="module")
def stack(trained_model, tmp_path_factory):
    runtime = tmp_path_factory.mktemp("outreach-e2e")
    # Nothing listens there: text to speech falls back to espeak-ng at once instead of trying Google.
    no_gtts = {"GTTS_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    with channel_stack(trained_model, runtime, extra_env=no_gtts) as running:
        running["runtime"] = runtime
        yield running


@pytest.fixture(scope="module")
def outreach_day(stack):
    with stack["database"].session() as session:
        create_event(session, "Sosialisasi LAPOR! Surabaya", "Kota Surabaya", dt.date.today(),
                     "penyandang disabilitas", code=CODE)
    first_day = dt.datetime.utcnow().date()
    # The slow voice conversations first, so the others run beside them.
    order = sorted(SCRIPTS, key=lambda script: not script.voice)
    with ThreadPoolExecutor(max_workers=5) as pool:
        played = list(pool.map(lambda script: play(stack, script, CODE), order))
    for run in played:
        print(f"\n--- {run.script.name} ({run.script.channel}): {' > '.join(run.questions)}")
        for line in run.user.said:
            print(f"user: {line}")
        for reply in run.user.replies():
            print("bot:  " + reply.replace("\n", " / "))
    return {"played": played, "first_day": first_day, "last_day": dt.datetime.utcnow().date()}


def last_step_at(stack):
    with stack["database"].session() as session:
        return session.execute(select(func.max(ConversationEvent.occurred_at))).scalar_one()


def test_outreach_report_counts_exactly_what_the_scripted_conversations_did(stack, outreach_day):
    quiet_since = last_step_at(stack)
    with stack["database"].session() as session:
        figures = outreach_figures(
            session, start=outreach_day["first_day"], end=outreach_day["last_day"], event_code=CODE,
            now=quiet_since + dt.timedelta(minutes=DEFAULT_IDLE_MINUTES + 1),
        )
        just_after = outreach_figures(
            session, start=outreach_day["first_day"], end=outreach_day["last_day"], event_code=CODE,
            now=quiet_since + dt.timedelta(minutes=1),
        )
        coded_reports = session.execute(
            select(Report.channel, SatisfactionRating.score).join(SatisfactionRating).where(Report.event_code == CODE)
        ).all()
        uncoded_reports = session.execute(select(Report.id).where(Report.event_code.is_(None))).all()

    expected = expected_columns(SCRIPTS)
    assert list(figures.columns) == [ALL_CHANNELS, *MAIN_CHANNELS]
    for column, wanted in expected.items():
        assert raw_figures(figures.columns[column]) == wanted, column
    assert figures.total.started.raw == 12 and figures.total.filed.raw == 8
    assert figures.event.code == CODE
    assert sorted(coded_reports) == sorted((s.channel, s.rating) for s in SCRIPTS if s.with_code and s.rating)
    assert len(uncoded_reports) == 1
    assert (just_after.total.abandoned.raw, just_after.total.in_progress.raw) == (0, 3)

    lowest, highest = minutes_to_file_bounds(outreach_day["played"])
    assert lowest <= figures.total.median_minutes_to_file.raw <= highest


def test_outreach_report_command_writes_the_disclosed_figures_and_slide_sized_charts(
        stack, outreach_day, tmp_path, monkeypatch, capsys):
    runtime = stack["runtime"]
    monkeypatch.setenv("SAPALAPOR_DATA_DIR", str(runtime / "data"))
    monkeypatch.setenv("SAPALAPOR_DATABASE_URL", f"sqlite:///{runtime / 'data' / 'sapalapor.db'}")
    # The command counts a conversation as abandoned as of --as-of: a moment after the last step
    # is older than its idle window, so the quiet conversations count as abandoned.
    as_of = (last_step_at(stack) + dt.timedelta(minutes=IDLE_MINUTES_FOR_COMMAND, seconds=2)).replace(microsecond=0)
    first, last = outreach_day["first_day"].isoformat(), outreach_day["last_day"].isoformat()

    status = main(["outreach-report", "--from", first, "--to", last, "--event", CODE.lower(), "--out", str(tmp_path),
                   "--idle-minutes", str(IDLE_MINUTES_FOR_COMMAND), "--as-of", as_of.isoformat(timespec="seconds")])

    printed = capsys.readouterr().out
    assert status == 0, printed
    stem = f"outreach-{first.replace('-', '')}-{last.replace('-', '')}-{CODE}"
    with (tmp_path / f"{stem}.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["ukuran", "keterangan", ALL_CHANNELS, *MAIN_CHANNELS]
    with stack["database"].session() as session:
        figures = outreach_figures(session, start=outreach_day["first_day"], end=outreach_day["last_day"],
                                   event_code=CODE, idle_minutes=IDLE_MINUTES_FOR_COMMAND, now=as_of)
    assert rows[1:] == [[key, label, *cells.values()] for key, label, cells in figures.rows()]
    cells = {row[0]: dict(zip(rows[0][2:], row[2:])) for row in rows[1:]}
    expected = expected_columns(SCRIPTS)
    total = {key: cell[ALL_CHANNELS] for key, cell in cells.items()}
    assert (total["started"], total["filed"], total["completion_rate"]) == ("12", "8", "67%")
    assert (total["cancelled"], total["abandoned"], total["in_progress"]) == (SUPPRESSED, SUPPRESSED, SUPPRESSED)
    assert (total["voice"], total["voice_share"]) == (SUPPRESSED, WITHHELD)
    assert (total["simple_language"], total["simple_language_share"]) == (SUPPRESSED, WITHHELD)
    assert total["most_given_up_step"] == WITHHELD  # every step lost one person: too few to name
    assert [total[f"reached:{step}"] for step in ("started", "slot:report_type", "slot:description",
                                                  "slot:location", "slot:incident_date", "slot:privacy",
                                                  "readback_confirmed", "filed")] == \
        ["12", "11", "11", "10", "9", "8", "8", "8"]
    assert (total["satisfaction_after_filing_ratings"], total["satisfaction_after_filing_mean"]) == ("8", "4.0")
    assert (total["satisfaction_after_filing_score_4"], total["satisfaction_after_filing_score_5"]) == (SUPPRESSED,) * 2
    assert total["satisfaction_after_closed_ratings"] == SUPPRESSED
    for channel in MAIN_CHANNELS:
        for key in ("started", "filed", "voice", "simple_language", "cancelled", "abandoned"):
            if expected[channel][key] < 5:
                assert cells[key][channel] == SUPPRESSED, (channel, key)
    assert cells["started"]["telegram"] == "5"
    assert "Percakapan dimulai" in printed and CODE in printed

    for suffix in CHART_SUFFIXES:
        chart = tmp_path / f"{stem}-{suffix}.png"
        assert chart.exists(), chart
        with Image.open(chart) as image:
            assert image.size == (1920, 1080)
            darkest, lightest = image.convert("L").getextrema()
            assert darkest < 64 < lightest  # drawn on, not blank


def test_no_citizen_is_shown_a_dialogue_command_during_the_outreach_day(outreach_day):
    leaked = [(run.script.name, reply) for run in outreach_day["played"] for reply in run.user.replies()
              if re.search(r"/\w+\{", reply)]

    assert leaked == []
