import datetime as dt
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Dict, List, Optional

import pytest
from sqlalchemy import select

from bot.actions.report_form import local_today
from bot.rasa_project import start_servers
from bot.settings import load_settings
from storage import tracking_numbers
from storage.db import Database
from storage.identity import parse_sender_id
from storage.models import Report, SatisfactionRating, StatusChange
from tests.support.rasa_client import say, texts

TRACKING_NUMBER = re.compile(r"\b(\d{4}-\d{4})\b")


@dataclass(frozen=True)
class Filing:
    opening: str
    report_type: str
    description: str
    location: str
    date_text: str
    days_ago: int
    privacy: str
    rating: str
    score: int


FILINGS = [
    Filing(
        "mau lapor min jalan rusak",
        "pengaduan",
        "Jalan di depan pasar Cicalengka berlubang besar dan dalam, ada motor jatuh.",
        "Kecamatan Cicalengka, Kabupaten Bandung",
        "3 hari lalu",
        3,
        "biasa",
        "5",
        5,
    ),
    Filing(
        "/file_aspiration",
        "aspirasi",
        "Saya usul ada jalur kursi roda dan ubin pemandu di trotoar alun-alun supaya tunanetra aman berjalan.",
        "Kota Yogyakarta",
        "kemarin",
        1,
        "rahasia",
        "puas",
        4,
    ),
    Filing(
        "/request_information",
        "permintaan_informasi",
        "Saya ingin tahu rincian anggaran dana desa tahun ini untuk perbaikan saluran air di desa kami.",
        "Desa Sukamaju, Kabupaten Garut",
        "hari ini",
        0,
        "anonim",
        "lima",
        5,
    ),
]

# The reporter answers the form in this order; a restart of both servers comes after the
# location answer to show the conversation continues where it was.
RESTART_AFTER = 2


def answers(filing: Filing) -> List[str]:
    return [filing.opening, filing.description, filing.location, filing.date_text, filing.privacy, "/affirm"]


@pytest.fixture()
def isolated_servers(trained_model, tmp_path):
    env_overrides = {
        "SAPALAPOR_DATA_DIR": str(tmp_path / "data"),
        "SAPALAPOR_DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'sapalapor.db'}",
        "SAPALAPOR_TRACKER_URL": f"sqlite:///{tmp_path / 'data' / 'tracker.db'}",
    }
    import os

    env = {**os.environ, **env_overrides}
    settings = load_settings(environ=env)
    database = Database(settings.database_url)
    database.migrate()
    state: Dict[str, object] = {"settings": settings, "env": env, "database": database, "runtime": tmp_path}

    def start(port: Optional[int] = None, action_port: Optional[int] = None):
        servers = start_servers(settings, trained_model, tmp_path / "runtime", env=env, port=port, action_port=action_port)
        state["servers"] = servers
        return servers

    state["start"] = start
    yield state
    servers = state.get("servers")
    if servers is not None:
        servers.stop()


def converse(rasa_url: str, sender: str, messages: List[str]) -> List[List[Dict]]:
    return [say(rasa_url, sender, message) for message in messages]


def test_several_reporters_file_at_once_and_a_restart_loses_nothing(isolated_servers):
    servers = isolated_servers["start"]()
    senders = {filing.report_type: f"e2e-{uuid.uuid4().hex[:10]}" for filing in FILINGS}

    with ThreadPoolExecutor(max_workers=len(FILINGS)) as pool:
        first_halves = list(
            pool.map(
                lambda filing: converse(servers.rasa_url, senders[filing.report_type], answers(filing)[: RESTART_AFTER + 1]),
                FILINGS,
            )
        )
    for replies in first_halves:
        assert all(turn for turn in replies), "every message got an answer"

    # Kill both servers mid-conversation and start them again on the same stores.
    servers.stop(kill=True)
    servers = isolated_servers["start"]()

    with ThreadPoolExecutor(max_workers=len(FILINGS)) as pool:
        second_halves = list(
            pool.map(
                lambda filing: converse(servers.rasa_url, senders[filing.report_type], answers(filing)[RESTART_AFTER + 1 :]),
                FILINGS,
            )
        )

    numbers: Dict[str, str] = {}
    for filing, replies in zip(FILINGS, second_halves):
        filed_text = texts(replies[-1])
        match = TRACKING_NUMBER.search(filed_text)
        assert match, f"no tracking number in the reply to the confirmation: {filed_text!r}"
        assert tracking_numbers.is_valid(match.group(1))
        numbers[filing.report_type] = match.group(1)
        rating_reply = say(servers.rasa_url, senders[filing.report_type], filing.rating)
        assert texts(rating_reply), "the satisfaction answer is acknowledged"

    database: Database = isolated_servers["database"]
    settings = isolated_servers["settings"]
    today = local_today()  # the citizen's today: Asia/Jakarta, not the server's UTC
    with database.session() as session:
        reports = {report.report_type: report for report in session.execute(select(Report)).scalars()}
        assert set(reports) == {filing.report_type for filing in FILINGS}
        for filing in FILINGS:
            report = reports[filing.report_type]
            assert report.tracking_number == numbers[filing.report_type]
            assert report.description == filing.description
            assert report.location_text == filing.location
            assert report.incident_date == today - dt.timedelta(days=filing.days_ago)
            assert report.privacy == filing.privacy
            assert report.channel == "rest"
            assert report.status == "diterima"
            assert report.title and len(report.title) <= 120
            if filing.privacy == "anonim":
                assert report.reporter_id is None
                assert report.pin_hash
            else:
                channel, identity_hash = parse_sender_id(senders[filing.report_type], settings.identity_key)
                assert report.reporter.identity_hash == identity_hash
                assert report.reporter.channel == channel == "rest"
            history = session.execute(select(StatusChange).where(StatusChange.report_id == report.id)).scalars().all()
            assert [change.status for change in history] == ["diterima"]
            rating = session.execute(
                select(SatisfactionRating).where(SatisfactionRating.report_id == report.id)
            ).scalar_one()
            assert rating.score == filing.score
