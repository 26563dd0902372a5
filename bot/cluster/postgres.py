"""A throw-away PostgreSQL server: ``with running_postgres() as url: ...``.

Used by the tests and by ``bot cluster`` (a local multi-process run). Why a real server: SQLite forgives things PostgreSQL does not (types, locking, savepoints),
and the deployment may use either. The server lives in a temporary directory, listens on
127.0.0.1 on a free port (its socket directory is in the temporary directory too), and is
stopped and deleted on exit. PostgreSQL refuses to run as root, so as root every command runs
as the ``postgres`` OS user. Missing binaries are an error, never a silent skip: ./test.sh
installs them (``bot cluster`` installs them with apt-get when missing).
"""
from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator, List, Optional

SERVER_USER = "postgres"
_START_ATTEMPTS = 3


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries or the OS user are missing; the message says how to fix it."""


def find_bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and pg_ctl (or $PG_BIN_DIR)."""
    candidates = [os.environ["PG_BIN_DIR"]] if os.environ.get("PG_BIN_DIR") else []
    found = glob.glob("/usr/lib/postgresql/*/bin")
    found.sort(key=lambda path: _version_key(Path(path).parent.name), reverse=True)
    candidates += found
    for candidate in candidates:
        directory = Path(candidate)
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    raise PostgresUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin. "
        "Install them with `apt-get install -y postgresql` (./test.sh does this) or set PG_BIN_DIR."
    )


def _version_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else 0 for part in name.split("."))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Server:
    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="sapalapor-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sockets"
        self.log = self.root / "server.log"
        self.port: Optional[int] = None
        self.as_other_user = os.geteuid() == 0
        self.sockets.mkdir()
        if self.as_other_user:
            try:
                account = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(
                    f"running as root but there is no {SERVER_USER!r} OS user to run PostgreSQL as; "
                    "install the postgresql package (it creates the user)"
                ) from None
            for path in (self.root, self.sockets):
                os.chown(path, account.pw_uid, account.pw_gid)

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess:
        command: List[str] = [str(self.bin_dir / program), *args]
        if self.as_other_user:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        env = dict(os.environ, LC_ALL="C", LANG="C")
        result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=self.root)
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(
                f"{program} failed (exit {result.returncode}): {result.stderr.strip() or result.stdout.strip()}"
                + (f"\nserver log:\n{log}" if log else "")
            )
        return result

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        last_error: Optional[Exception] = None
        for _attempt in range(_START_ATTEMPTS):
            self.port = free_port()
            # Durability is pointless for a throw-away test server; these make it much faster.
            options = (
                f"-h 127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                          "-o", options, "start")
                return
            except PostgresUnavailable as error:  # most likely the port was taken in between
                last_error = error
        raise last_error  # type: ignore[misc]

    def stop(self) -> None:
        if self.data.exists() and (self.data / "postmaster.pid").exists():
            with contextlib.suppress(PostgresUnavailable):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``server_url``; returns the new database's URL."""
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    connection = psycopg2.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname="postgres"
    )
    try:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        connection.close()
    return str(url.set(database=name))


@contextlib.contextmanager
def running_postgres(database: str = "sapalapor_test") -> Iterator[str]:
    """Start a private server, create ``database`` and yield its SQLAlchemy URL; stop on exit."""
    server = _Server(find_bin_dir())
    atexit.register(server.stop)  # also when the test run is interrupted
    try:
        server.start()
        url = create_database(server.url("postgres"), database)
        yield url
    finally:
        server.stop()
        atexit.unregister(server.stop)
