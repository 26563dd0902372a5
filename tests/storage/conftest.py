"""Storage fixtures: each storage test runs against SQLite and against a real PostgreSQL server.

``session`` follows SQLAlchemy's "Joining a Session into an External Transaction" recipe: the
test's work happens inside an outer transaction that is rolled back afterwards, and commits
inside the test only release a SAVEPOINT. Tests that need real commits across connections
(threads, migrations) use ``database`` directly with keys of their own.
"""
from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from storage.db import Database
from bot.cluster.postgres import running_postgres


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with running_postgres() as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('storage') / 'storage.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    connection = database.engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, future=True, expire_on_commit=False)
    nested = connection.begin_nested()

    @event.listens_for(session, "after_transaction_end")
    def _restart_savepoint(_session, _transaction) -> None:
        nonlocal nested
        if not nested.is_active:
            nested = connection.begin_nested()

    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()
