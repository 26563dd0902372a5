"""Routing tests run on SQLite only: their queries are plain ``select()``s already covered on
PostgreSQL by the storage tests, and the machine is shared. The project's category model is
cached under ``$SAPALAPOR_MODEL_DIR/categories`` when the test run sets it (test.sh does: the
file name carries the hash of every data file, so sessions share a model only while the data is
the same; training it takes a minute on a busy machine), else in a temporary folder, never in
the developer's home. Tests that swap a deployment model in use a folder of their own."""
from __future__ import annotations

import datetime as dt
import itertools
import os
from pathlib import Path
from typing import Iterator

import pytest

from storage.db import Database
from storage.models import Report
from storage.repositories import ReportDraft, ReportRepository

_keys = itertools.count(1)


@pytest.fixture(scope="session", autouse=True)
def _model_cache(tmp_path_factory) -> Iterator[None]:
    patcher = pytest.MonkeyPatch()
    shared = os.environ.get("SAPALAPOR_MODEL_DIR")
    patcher.setenv("SAPALAPOR_MODEL_CACHE",
                   str(Path(shared) / "categories") if shared else str(tmp_path_factory.mktemp("model-cache")))
    yield
    patcher.undo()


@pytest.fixture(scope="session")
def database(tmp_path_factory) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path_factory.mktemp('routing') / 'routing.db'}")
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def file_report(session):
    def file(privacy: str = "biasa", description: str = "Jalan rusak parah di dekat pasar, banyak lubang.",
             location: str = "kab bandung", channel: str = "telegram", address: str = "123456789",
             identity_hash: str = "c" * 64, created_at: dt.datetime = None) -> Report:
        anonymous = privacy == "anonim"
        report = ReportRepository(session).file(ReportDraft(
            submission_key=f"routing-test-{next(_keys)}",
            report_type="pengaduan",
            description=description,
            location_text=location,
            incident_date=dt.date(2026, 11, 20),
            privacy=privacy,
            channel=channel,
            identity_hash=None if anonymous else identity_hash,
            address=None if anonymous else address,
            pin="1234" if anonymous else None,
        ))
        if created_at is not None:
            report.created_at = created_at
            for change in report.history:
                change.changed_at = created_at
            session.flush()
        return report

    return file
