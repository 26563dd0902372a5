import contextlib
import csv
import io
import json

import aiohttp
import pytest

from channels.export_api import ExportApiInput
from storage.db import Database
from storage.repositories import ReportDraft, ReportRepository
from tests.channels.harness import Mounted, sanic_test_mode

TOKEN = "export-token-for-tests"


@pytest.fixture
def api_database(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'api.db'}")
    database.migrate()
    with database.session() as session:
        repository = ReportRepository(session)
        for key, privacy in (("api-1", "biasa"), ("api-2", "rahasia"), ("api-3", "anonim")):
            report = repository.file(ReportDraft(
                submission_key=key, report_type="pengaduan", description=f"Jalan rusak {key}",
                location_text="kab bandung", incident_date=None, privacy=privacy, channel="telegram",
                identity_hash=None if privacy == "anonim" else "a" * 64,
                address=None if privacy == "anonim" else "4242424242", pin="1234" if privacy == "anonim" else None))
            report.region_code = "32.04"
            if privacy == "biasa":
                repository.change_status(report, "diverifikasi")
    yield database
    database.dispose()


@contextlib.asynccontextmanager
async def serving(token, database):
    with sanic_test_mode():
        async with Mounted(ExportApiInput(token, database), on_new_message=None) as mounted:
            yield mounted


async def fetch(base_url, query="", headers=None):
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{base_url}/webhooks/export/reports{query}", headers=headers or {}) as answer:
            return answer.status, await answer.text(), answer.headers.get("Content-Type", "")


async def test_the_export_api_needs_the_bearer_token(api_database):
    async with serving(TOKEN, api_database) as mounted:
        assert (await fetch(mounted.base_url))[0] == 401
        assert (await fetch(mounted.base_url, headers={"Authorization": "Basic abc"}))[0] == 401
        assert (await fetch(mounted.base_url, headers={"Authorization": "Bearer wrong"}))[0] == 403
        status, body, content_type = await fetch(mounted.base_url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert content_type.startswith("application/x-ndjson")
    rows = [json.loads(line) for line in body.splitlines()]
    assert [row["isi"] for row in rows] == ["Jalan rusak api-1", "Jalan rusak api-3"]
    assert "4242424242" not in body and "kontak" not in body


async def test_the_export_api_is_off_without_a_configured_token(api_database):
    async with serving("", api_database) as mounted:
        assert (await fetch(mounted.base_url, headers={"Authorization": "Bearer "}))[0] == 401
        assert (await fetch(mounted.base_url, headers={"Authorization": "Bearer anything"}))[0] == 403


async def test_the_export_api_filters_and_speaks_csv(api_database):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with serving(TOKEN, api_database) as mounted:
        status, body, content_type = await fetch(mounted.base_url, "?status=diverifikasi&region=32&format=csv", auth)
        assert (await fetch(mounted.base_url, "?region=33", auth))[1] == ""
        assert (await fetch(mounted.base_url, "?status=hilang", auth))[0] == 400
        assert (await fetch(mounted.base_url, "?format=xml", auth))[0] == 400
        assert (await fetch(mounted.base_url, "?since=kemarin", auth))[0] == 400
    assert status == 200 and content_type.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(row["isi"], row["status"], row["kode_wilayah"]) for row in rows] == [
        ("Jalan rusak api-1", "diverifikasi", "32.04")]
