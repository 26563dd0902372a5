import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from storage.db import Database
from storage.models import Base, Reporter
from bot.cluster.postgres import create_database

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nested' / 'dir' / 'fresh.db'}"
    return create_database(request.getfixturevalue("postgres_url"), f"fresh_{uuid.uuid4().hex[:12]}")


def head_revision(database: Database) -> str:
    return ScriptDirectory.from_config(database.alembic_config()).get_current_head()


def current_revision(database: Database) -> str:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_migrated_schema_matches_the_models(database):
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_there_is_one_head_revision(database):
    assert len(ScriptDirectory.from_config(database.alembic_config()).get_heads()) == 1


def test_migrating_twice_is_a_no_op(fresh_url):
    database = Database(fresh_url)
    try:
        database.migrate()
        tables = sorted(inspect(database.engine).get_table_names())
        with database.session() as session:
            session.add(Reporter(channel="sms", identity_hash="f" * 64))
        database.migrate()
        assert sorted(inspect(database.engine).get_table_names()) == tables
        assert current_revision(database) == head_revision(database)
        with database.session() as session:
            assert session.execute(select(Reporter.identity_hash)).scalars().all() == ["f" * 64]
    finally:
        database.dispose()


def test_two_processes_migrating_at_once_both_succeed(fresh_url):
    script = "import sys; from storage.db import Database; Database(sys.argv[1]).migrate()"
    processes = [
        subprocess.Popen([sys.executable, "-c", script, fresh_url], cwd=ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outcomes = [(process.wait(timeout=120), process.stderr.read()) for process in processes]
    for process in processes:
        process.stderr.close()
    assert [code for code, _ in outcomes] == [0, 0], outcomes
    database = Database(fresh_url)
    try:
        assert current_revision(database) == head_revision(database)
    finally:
        database.dispose()


def test_sqlite_is_tuned_for_concurrent_processes(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'a' / 'b' / 'c.db'}")
    assert (tmp_path / "a" / "b").is_dir()
    with database.engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000, "synchronous": 1}
    database.dispose()


def test_postgresql_engine_pings_pooled_connections(postgres_url):
    database = Database(postgres_url)
    assert database.engine.pool._pre_ping
    with database.engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1
    database.dispose()


def test_session_commits_on_success_and_rolls_back_on_error(database):
    marker = uuid.uuid4().hex + uuid.uuid4().hex
    with database.session() as session:
        reporter = Reporter(channel="sms", identity_hash=marker)
        session.add(reporter)
    assert reporter.identity_hash == marker and reporter.id is not None
    with pytest.raises(RuntimeError):
        with database.session() as session:
            session.get(Reporter, reporter.id).address = "+6281234567890"
            raise RuntimeError("boom")
    with database.session() as session:
        stored = session.get(Reporter, reporter.id)
        assert stored.address is None
        session.delete(stored)


def test_shared_returns_one_instance_per_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    assert Database.shared(url) is Database.shared(url)
    assert Database.shared(url) is not Database.shared(f"sqlite:///{tmp_path / 'other.db'}")


def test_in_memory_database_is_one_database_for_every_thread():
    import threading

    database = Database("sqlite://")
    database.migrate()
    seen = []

    def read() -> None:
        with database.session() as session:
            seen.append(session.execute(select(Reporter)).scalars().all())

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen == [[]]
    database.dispose()


def test_a_read_neither_waits_for_a_writer_nor_sees_its_uncommitted_rows(tmp_path):
    import threading

    database = Database(f"sqlite:///{tmp_path / 'reads.db'}")
    try:
        database.migrate()
        writing, release = threading.Event(), threading.Event()

        def writer() -> None:
            with database.session() as session:
                session.add(Reporter(channel="sms", identity_hash="a" * 64))
                session.flush()  # holds SQLite's write lock (and this process's) from here
                writing.set()
                release.wait(10)

        thread = threading.Thread(target=writer)
        thread.start()
        assert writing.wait(10)
        try:
            with database.reading() as session:  # would wait 5 s for the lock as a plain session
                assert session.execute(select(Reporter.identity_hash)).scalars().all() == []
        finally:
            release.set()
            thread.join(10)
        with database.reading() as session:
            assert session.execute(select(Reporter.identity_hash)).scalars().all() == ["a" * 64]
    finally:
        database.dispose()


def test_what_a_read_session_writes_is_rolled_back(database):
    with database.reading() as session:
        session.add(Reporter(channel="sms", identity_hash="b" * 64))
        session.flush()
    with database.session() as session:
        assert session.execute(select(Reporter.identity_hash).where(Reporter.identity_hash == "b" * 64)).first() is None
