"""The storage bench posts what Rasa posts for a confirmed report; it must still file one.

The bench broke silently once (its hand-made request went to ``rasa run actions``, which never
configures our actions): this runs the real action server on a fresh SQLite file and checks that
the bench's request files exactly one report and that a call without the token files none.
"""
import json
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import storage_rate
from bench.run import bench_env


def post(url: str, body: dict, headers: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_the_bench_request_files_one_report_through_our_action_server_and_none_without_its_token(tmp_path: Path):
    from storage.db import Database

    bench = SimpleNamespace(workdir=tmp_path, env=bench_env(tmp_path))
    database_url = f"sqlite:///{tmp_path / 'reports.db'}"
    Database(database_url).migrate()
    body = json.loads(json.dumps(storage_rate.template(bench)).replace("__SENDER__", "bench-store-test-1"))
    body["tracker"]["slots"]["form_started_at"] = 1_800_000_000.0

    with storage_rate.action_server(bench, database_url, "test") as (url, headers):
        with pytest.raises(urllib.error.HTTPError) as refused:
            post(url, body, {})
        assert refused.value.code == 403
        assert storage_rate.count_reports(database_url) == 0

        answer = post(url, body, headers)

    assert any(response.get("response") == "utter_submitted" for response in answer["responses"]), answer
    assert storage_rate.count_reports(database_url) == 1
