"""Two ``bot forward --loop`` replicas: each report offered once; a killed holder's work taken over."""
from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import time

from sqlalchemy import select

from bot.rasa_project import ROOT
from storage.db import Database
from storage.models import Lease
from storage.repositories import ReportDraft, ReportRepository
from tests.storage.routing.test_forwarding import Receiver


def _wait(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def _replica(url, endpoint, log_path):
    env = dict(os.environ, SAPALAPOR_DATABASE_URL=url, SAPALAPOR_FORWARD_URL=endpoint,
               SAPALAPOR_IDENTITY_KEY="k" * 32)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "forward", "--loop", "--interval", "0.2", "--lease-seconds", "2"],
        cwd=ROOT, env=env, stdout=open(log_path, "ab"), stderr=subprocess.STDOUT)


def _file(database, count, template):
    with database.session() as session:
        for index in range(count):
            ReportRepository(session).file(ReportDraft(
                submission_key=f"{template[:12]}-{index}", report_type="pengaduan",
                description=template.format(index), location_text="kota bandung",
                incident_date=dt.date(2026, 11, 20), privacy="biasa", channel="telegram",
                identity_hash="d" * 64, address="123456789"))


def test_two_forwarders_offer_each_report_once_and_one_takes_over_when_the_other_is_killed(tmp_path):
    url = f"sqlite:///{tmp_path / 'forward.db'}"
    database = Database(url)
    database.migrate()
    _file(database, 12, "Lampu jalan nomor {} di gang kami mati sudah dua minggu.")

    with Receiver([]) as receiver:
        replicas = [_replica(url, receiver.url, tmp_path / f"forward-{index}.log") for index in range(2)]
        try:
            assert _wait(lambda: len(receiver.accepted) == 12), open(tmp_path / "forward-0.log").read()
            time.sleep(1.0)  # a second forwarder sending the same items would show by now
            posts = collections.Counter(request["key"] for request in receiver.requests)
            assert len(posts) == 12 and set(posts.values()) == {1}

            with database.reading() as session:
                holder = session.execute(select(Lease.holder).where(Lease.name == "forwarding")).scalar_one()
            pid = int(holder.split(":")[1])
            victim = next(process for process in replicas if process.pid == pid)
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)

            _file(database, 5, "Saluran air di RT {} tersumbat sampah, banjir tiap hujan.")
            assert _wait(lambda: len(receiver.accepted) == 17), "the surviving replica never took over"
            posts = collections.Counter(request["key"] for request in receiver.requests)
            assert len(posts) == 17 and set(posts.values()) == {1}
            with database.reading() as session:
                new_holder = session.execute(select(Lease.holder).where(Lease.name == "forwarding")).scalar_one()
            assert int(new_holder.split(":")[1]) != pid
        finally:
            for process in replicas:
                if process.poll() is None:
                    process.terminate()
                    process.wait(10)
    database.dispose()
