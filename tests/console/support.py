"""The console as a real process on loopback, and an HTTP client that signs in like a browser.

``running_console(data_dir)`` migrates a fresh database, starts ``python -m console`` against it
and yields (base_url, database). ``Staff`` keeps cookies (including Secure ones: the client is
trusted on loopback, as browsers trust http://127.0.0.1) and fills in the CSRF token of the last
page it read, as the page's forms do.
"""
from __future__ import annotations

import contextlib
import http.client
import os
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

from bot.rasa_project import free_port
from storage.db import Database
from storage.repositories.accounts import AccountRepository

ROOT = Path(__file__).resolve().parents[2]
CONSOLE_KEY = "console-test-key-not-secret-0123456789abcdef"
PASSWORD = "kata-sandi-uji-123"
_CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def console_environ(data_dir: Path, **extra: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        SAPALAPOR_DATA_DIR=str(data_dir),
        SAPALAPOR_DATABASE_URL=f"sqlite:///{data_dir / 'sapalapor.db'}",
        SAPALAPOR_TRACKER_URL=f"sqlite:///{data_dir / 'tracker.db'}",
        SAPALAPOR_CONSOLE_KEY=CONSOLE_KEY,
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def running_console(data_dir: Path, database_url: Optional[str] = None,
                    extra_env: Optional[Dict[str, str]] = None) -> Iterator[Tuple[str, Database]]:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = console_environ(data_dir, **(extra_env or {}))
    if database_url:
        env["SAPALAPOR_DATABASE_URL"] = database_url
    database = Database(env["SAPALAPOR_DATABASE_URL"])
    database.migrate()
    port = free_port()
    log = open(data_dir / "console.log", "ab")
    process = subprocess.Popen([sys.executable, "-m", "console", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the console stopped; see {data_dir / 'console.log'}")
            try:
                status, _headers, _body = request(base_url, "GET", "/sehat")
                if status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the console did not start within 60 s")
            time.sleep(0.2)
        yield base_url, database
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        database.dispose()


def request(base_url: str, method: str, path: str, body: Optional[bytes] = None,
            headers: Optional[Dict[str, str]] = None):
    parts = urllib.parse.urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    finally:
        connection.close()


def make_account(database: Database, username: str, role: str, agency: Optional[str] = None) -> None:
    with database.session() as session:
        AccountRepository(session).create(username, username.title(), role, PASSWORD, agency=agency)


class Staff:
    """One person's browser: cookies, the last page read and its CSRF token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies: Dict[str, str] = {}
        self.csrf = ""
        self.last_headers = None

    def _send(self, method: str, path: str, fields: Optional[Dict[str, str]] = None):
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, answer_headers, content = request(self.base_url, method, path, body, headers)
        self.last_headers = answer_headers
        for line in answer_headers.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in line or not value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        text = content.decode("utf-8", "replace")
        found = _CSRF.search(text)
        if found:
            self.csrf = found.group(1)
        return status, answer_headers, text

    def get(self, path: str):
        return self._send("GET", path)

    def post(self, path: str, fields: Optional[Dict[str, str]] = None, csrf: Optional[str] = None):
        fields = dict(fields or {})
        fields.setdefault("csrf", self.csrf if csrf is None else csrf)
        return self._send("POST", path, fields)

    def login(self, username: str, password: str = PASSWORD) -> int:
        self.get("/masuk")
        status, _headers, _text = self.post("/masuk", {"username": username, "password": password})
        return status


def file_report(database: Database, description: str, *, agency: Optional[str] = None, privacy: str = "biasa",
                channel: str = "telegram", chat_id: Optional[str] = "5550001", region_code: Optional[str] = None,
                event_code: Optional[str] = None, photo: Optional[Tuple[bytes, Path]] = None) -> str:
    """A filed report as the submit action leaves it; returns its tracking number.

    ``photo`` = (JPEG bytes, folder): a photo sent during the conversation, attached at filing.
    """
    import uuid

    from storage.repositories import AttachmentRepository

    from storage.identity import identity_hash
    from storage.models import Report
    from storage.repositories import ReportDraft, ReportRepository

    hashed = identity_hash(os.environ["SAPALAPOR_IDENTITY_KEY"].encode(), channel, chat_id) if chat_id else None
    anonymous = privacy == "anonim"
    draft = ReportDraft(
        submission_key=uuid.uuid4().hex, report_type="pengaduan", description=description,
        location_text="dekat pasar Cicalengka, Kabupaten Bandung", incident_date=None, privacy=privacy,
        channel=channel, identity_hash=None if anonymous else hashed, address=None if anonymous else chat_id,
        pin="4821" if anonymous else None, event_code=event_code, sender_ref=f"{channel}-{uuid.uuid4().hex}")
    with database.session() as session:
        if photo is not None:
            AttachmentRepository(session).save(draft.sender_ref, "photo", "image/jpeg", "jalan.jpg", photo[0], photo[1])
        report = ReportRepository(session).file(draft)
        stored = session.get(Report, report.id)
        stored.agency = agency
        stored.region_code = region_code
        return report.tracking_number
