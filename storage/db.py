"""The database handle: engine, sessions and migrations for SQLite and PostgreSQL.

Why this shape: every part of SapaLapor (Rasa actions, channel webhooks, operator commands)
may run in its own process against the same database, so the engine is configured for
concurrent use (SQLite in WAL mode with a busy timeout, PostgreSQL with pre-ping), and
migrations take a lock so two processes starting at once do not both run them.
Storage takes plain values (a URL) and imports nothing from the rest of the project.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
import zlib
from pathlib import Path
from typing import Dict, Iterator, Optional

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant fixed for the project: the key of the PostgreSQL advisory lock held while migrating.
_ADVISORY_LOCK_KEY = zlib.crc32(b"sapalapor-migrations")
# SQLite waits this long for another writer before giving up with "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 5000
# Execution option marking the connections of Database.reading().
_READ_ONLY = "sapalapor_read_only"


def _sqlite_file(url: URL) -> Optional[Path]:
    """The database file of a SQLite URL, or None for an in-memory database."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    if database.startswith("file:"):
        database = database[len("file:"):].split("?", 1)[0]
    return Path(database)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Take transaction control away from pysqlite: its implicit BEGIN breaks SAVEPOINT
        # (needed by InboundLog and by the test recipe), see the SQLAlchemy SQLite dialect docs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Scrubbed payloads (phone numbers, texts) are zeroed in the page, not left in free
            # space; FAST adds no I/O (https://sqlite.org/pragma.html#pragma_secure_delete).
            cursor.execute("PRAGMA secure_delete = FAST")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        # IMMEDIATE takes the write lock up front, so the busy timeout applies. A DEFERRED
        # transaction that reads and then writes fails at once with SQLITE_BUSY when another
        # connection wrote in between; waiting is what we want for short transactions.
        # Database.reading() never writes: its snapshot needs no lock at all in WAL mode.
        read_only = connection.get_execution_options().get(_READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


class Database:
    """One database: ``.engine``, ``.session()`` and ``.migrate()``.

    Sessions are short: open one per unit of work and never hold it across network I/O
    (on SQLite a session holds the write lock, others wait up to the busy timeout).
    """

    _shared: Dict[str, "Database"] = {}
    _shared_lock = threading.Lock()

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.sqlite_path = _sqlite_file(self.url)
            if self.sqlite_path is not None:
                self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_engine(
                self.url,
                future=True,
                echo=echo,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
                # 1.4 defaults to NullPool for SQLite files: every session then reopens the file
                # and the last close checkpoints the WAL, several times slower than the work itself.
                # An in-memory database lives in its one connection: StaticPool shares it with every
                # thread (asyncio.to_thread), so it suits sequential use such as quick tests only.
                **(
                    {"poolclass": QueuePool, "pool_size": 5, "max_overflow": 10}
                    if self.sqlite_path
                    else {"poolclass": StaticPool}
                ),
            )
            _configure_sqlite(self.engine)
        else:
            self.sqlite_path = None
            self.engine = create_engine(self.url, future=True, echo=echo, pool_pre_ping=True)
        self._sessions = sessionmaker(bind=self.engine, future=True, expire_on_commit=False)
        self._migrate_lock = threading.Lock()
        # SQLite has one writer at a time, and a writer that finds the file locked sleeps in
        # SQLite's busy handler (1, 2, 5, 10 ms...) before trying again: two threads of one
        # process writing at once cost each other milliseconds for sub-millisecond work. They
        # queue on this lock instead, and are woken the moment the other commits. (Other
        # processes still meet the busy timeout.) PostgreSQL has row locks: no queue.
        self._writers = threading.RLock() if self.sqlite_path is not None else contextlib.nullcontext()

    @classmethod
    def shared(cls, url: str) -> "Database":
        """The one instance for ``url`` in this process (one engine, one connection pool)."""
        key = make_url(url).render_as_string(hide_password=False)
        with cls._shared_lock:
            database = cls._shared.get(key)
            if database is None:
                database = cls._shared[key] = cls(url)
            return database

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises.

        Objects stay readable after the block (``expire_on_commit=False``); reload them in a new
        session before changing them again.
        """
        with self._writers:
            session = self._sessions()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads only: it neither waits for nor holds up a writer.

        On SQLite a plain session takes the database's one write lock for its whole
        transaction (see ``_on_begin``); a read of a turn's hot path (a profile) need not queue
        behind the inbound log's writes. Anything written here is rolled back.
        """
        with contextlib.ExitStack() as stack:
            bind = self.engine  # PostgreSQL readers never wait; in-memory SQLite is one connection
            if self.sqlite_path is not None:
                bind = stack.enter_context(self.engine.connect())
                bind.execution_options(**{_READ_ONLY: True})
            session = Session(bind=bind, future=True, expire_on_commit=False)
            try:
                yield session
            finally:
                session.rollback()
                session.close()

    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        # Not through set_main_option: ConfigParser would choke on "%" in passwords.
        config.attributes["url"] = self.url
        return config

    def migrate(self) -> None:
        """Upgrade the schema to the newest revision; safe to call from several processes at once."""
        with self._migrate_lock, self._cross_process_lock() as connection:
            config = self.alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
        log.info("database %s is at the newest schema", self.url.render_as_string(hide_password=True))

    @contextlib.contextmanager
    def _cross_process_lock(self):
        if self.is_sqlite:
            lock_file = None
            if self.sqlite_path is not None:
                lock_file = open(f"{self.sqlite_path}.migrate.lock", "w")  # noqa: SIM115
                fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                with self.engine.connect() as connection:
                    yield connection
            finally:
                if lock_file is not None:
                    fcntl.flock(lock_file, fcntl.LOCK_UN)
                    lock_file.close()
            return
        with self.engine.connect() as connection:
            # Session-level lock: it survives the commits of the migration transactions.
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_LOCK_KEY})
                connection.commit()

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log into the database file and empty it.

        Why: rows just scrubbed (payloads with phone numbers and texts) live on in the -wal file
        until a checkpoint rewrites those pages; SQLite's automatic one may not run for a long
        time on a quiet server. TRUNCATE also shrinks the file to zero. A checkpoint blocked by a
        reader or writer is reported by SQLite (busy=1) and simply done at the next call.
        PostgreSQL: nothing to do.
        """
        if self.sqlite_path is None:
            return
        with self._writers:
            # The raw connection: outside any transaction (SQLAlchemy's would BEGIN first).
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                busy, _pages, _moved = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                cursor.close()
            finally:
                connection.close()
        if busy:
            log.info("SQLite checkpoint deferred: the database was busy")

    def dispose(self) -> None:
        """Close every pooled connection (tests, and before a process forks)."""
        self.engine.dispose()
