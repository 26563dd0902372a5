from __future__ import annotations

from typing import Iterator

import pytest

from bot.cluster.postgres import running_postgres
from storage.lifecycle import pending_notifications
from tests.console.support import Staff, file_report, make_account, running_console


@pytest.fixture(scope="module")
def pg_console(tmp_path_factory) -> Iterator[dict]:
    with running_postgres("sapalapor_console_test") as url:
        with running_console(tmp_path_factory.mktemp("console-pg"), database_url=url) as (base_url, database):
            make_account(database, "ani", "operator")
            yield {"url": base_url, "database": database}


def test_the_console_signs_in_and_moves_a_report_on_postgresql(pg_console):
    database = pg_console["database"]
    number = file_report(database, "Sekolah kekurangan guru sejak awal semester, kelas digabung.", chat_id="2200001")
    staff = Staff(pg_console["url"])
    assert staff.login("ani") == 303
    assert number in staff.get("/laporan?cari=kekurangan+guru")[2]
    staff.get(f"/laporan/{number}")
    assert staff.post(f"/laporan/{number}/status", {"status": "diverifikasi"})[0] == 303
    with database.session() as session:
        assert [item.status for item in pending_notifications(session, "telegram")
                if item.tracking_number == number] == ["diverifikasi"]
