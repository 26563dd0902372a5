"""The console's Sanic app: sessions, CSRF, roles, and the pages of each area.

Every request goes through :func:`_identify` (who is signed in, from the signed session cookie
and the session table) and every POST through :func:`_check_csrf`. A page handler calls
:meth:`Console.require` with the page it serves, which refuses (403, audited) anyone whose role
does not open it. Pages are rendered on the server (Jinja2, autoescaped) and work without
JavaScript; ``static/live.js`` only adds live updates to the handover page.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path
from typing import Any, Optional

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import Sanic, response
from sanic.exceptions import NotFound, SanicException
from sanic.request import Request

from bot.settings import Settings
from console import security
from console.config import ConsoleConfig
from console.roles import HOME, PAGES, ROLE_LABELS, STATUS_LABELS
from console.throttle import AddressThrottle
from console.transcript import TranscriptReader
from storage.db import Database
from storage.lifecycle import format_date
from storage.repositories.accounts import SessionRepository
from storage.repositories.audit import AuditLog

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "sapalapor_console"
# Before sign-in: a random id that only the login form's CSRF token is bound to.
LOGIN_COOKIE = "sapalapor_console_login"
MAX_REQUEST_BYTES = 64 * 1024
SECURITY_HEADERS = {
    # Only our own files: no inline script or style, no framing (clickjacking), forms post here.
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; media-src 'self'; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


class Refused(SanicException):
    status_code = 403


class Console:
    """What every page needs: configuration, storage, templates, and the signed-in person."""

    def __init__(self, settings: Settings, config: ConsoleConfig, database: Database) -> None:
        self.settings = settings
        self.config = config
        self.database = database
        self.templates = Environment(loader=FileSystemLoader(str(HERE / "templates")),
                                     autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
        self.templates.globals.update(STATUS_LABELS=STATUS_LABELS, ROLE_LABELS=ROLE_LABELS, PAGES=PAGES,
                                      format_date=format_date)
        self.throttle = AddressThrottle()
        self.transcripts = TranscriptReader(config.tracker_store_url)

    # --- storage in a worker thread -------------------------------------------------------------
    async def write(self, work):
        def run():
            with self.database.session() as session:
                return work(session)
        return await asyncio.to_thread(run)

    async def read(self, work):
        def run():
            with self.database.reading() as session:
                return work(session)
        return await asyncio.to_thread(run)

    async def audit(self, request: Request, action: str, target: Optional[str] = None,
                    detail: Optional[str] = None) -> None:
        actor = request.ctx.account.username if request.ctx.account is not None else "-"
        await self.write(lambda session: AuditLog(session).record(actor, action, target, detail))

    # --- pages ----------------------------------------------------------------------------------
    async def require(self, request: Request, page: str):
        account = request.ctx.account
        if account is None:
            raise _SignIn()
        if account.role not in PAGES[page]:
            await self.audit(request, "refused", request.path, f"role {account.role} may not open {page}")
            raise Refused("Halaman ini bukan untuk peran Anda.")
        return account

    def render(self, request: Request, template: str, status: int = 200, **values: Any):
        account = request.ctx.account
        session_id = request.ctx.session_id or request.ctx.login_id
        html = self.templates.get_template(template).render(
            account=account, csrf=security.csrf_token(self.config.session_key, session_id) if session_id else "",
            path=request.path, flash=request.args.get("pesan"), **values)
        return response.html(html, status=status)


class _SignIn(SanicException):
    status_code = 303


def client_address(request: Request) -> str:
    return request.ip or "-"


def build_app(settings: Settings, config: ConsoleConfig, database: Database, name: Optional[str] = None) -> Sanic:
    from console import accounts_pages, handover_pages, login_pages, outreach_pages, report_pages

    app = Sanic(name or f"sapalapor_console_{uuid.uuid4().hex[:8]}")
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    app.config.KEEP_ALIVE_TIMEOUT = 30
    console = Console(settings, config, database)
    app.ctx.console = console
    app.static("/static", str(HERE / "static"), name="static")

    @app.middleware("request")
    async def _identify(request: Request):
        request.ctx.account = None
        request.ctx.session_id = None
        request.ctx.login_id = security.unsign(config.session_key, request.cookies.get(LOGIN_COOKIE))
        session_id = security.unsign(config.session_key, request.cookies.get(SESSION_COOKIE))
        if session_id:
            digest = security.session_digest(session_id)
            account = await console.read(lambda session: _detached(SessionRepository(session).account_of(digest)))
            if account is not None:
                request.ctx.account, request.ctx.session_id = account, session_id
        if request.method == "POST":
            return await _check_csrf(request)
        return None

    async def _check_csrf(request: Request):
        bound_to = request.ctx.session_id or request.ctx.login_id
        supplied = request.form.get("csrf") if request.form else None
        if not security.csrf_valid(config.session_key, bound_to, supplied):
            await console.audit(request, "csrf_refused", request.path)
            return console.render(request, "error.html", status=403, title="Permintaan ditolak",
                                  message="Formulir ini sudah kedaluwarsa atau tidak berasal dari halaman konsol. "
                                          "Muat ulang halaman, lalu coba lagi.")
        return None

    @app.middleware("response")
    async def _headers(_request: Request, answer):
        for header, value in SECURITY_HEADERS.items():
            if header == "Cache-Control" and answer.headers.get("Cache-Control"):
                continue
            answer.headers.setdefault(header, value)

    @app.exception(_SignIn)
    async def _to_login(request: Request, _error):
        return response.redirect("/masuk", status=303)

    @app.exception(Refused)
    async def _refused(request: Request, error):
        return console.render(request, "error.html", status=403, title="Akses ditolak", message=str(error))

    @app.exception(NotFound)
    async def _not_found(request: Request, _error):
        return console.render(request, "error.html", status=404, title="Tidak ditemukan",
                              message="Halaman atau data yang Anda cari tidak ada, atau bukan untuk Anda.")

    @app.get("/")
    async def home(request: Request):
        if request.ctx.account is None:
            return response.redirect("/masuk", status=303)
        return response.redirect(HOME[request.ctx.account.role], status=303)

    @app.get("/sehat")
    async def health(_request: Request):
        return response.json({"status": "ok"})

    @app.listener("after_server_stop")
    async def _close(_app, _loop):
        console.transcripts.dispose()

    for module in (login_pages, report_pages, handover_pages, outreach_pages, accounts_pages):
        module.register(app, console)
    return app


def _detached(account):
    """Plain values of the account for this request (the session that loaded it is closed)."""
    if account is None:
        return None
    return _Account(account.id, account.username, account.display_name, account.role, account.agency,
                    account.active)


class _Account:
    __slots__ = ("id", "username", "display_name", "role", "agency", "active")

    def __init__(self, id, username, display_name, role, agency, active) -> None:  # noqa: A002
        self.id, self.username, self.display_name = id, username, display_name
        self.role, self.agency, self.active = role, agency, active


def set_cookie(answer, config: ConsoleConfig, name: str, value: str, max_age: int) -> None:
    answer.cookies[name] = value
    cookie = answer.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age
    if config.secure_cookies:
        cookie["secure"] = True


def clear_cookie(answer, config: ConsoleConfig, name: str) -> None:
    set_cookie(answer, config, name, "", 0)


def flash_redirect(path: str, message: Optional[str] = None, status: int = 303):
    from urllib.parse import urlencode

    if message:
        path = f"{path}{'&' if '?' in path else '?'}{urlencode({'pesan': message})}"
    return response.redirect(path, status=status)


def form_value(request: Request, name: str, limit: int = 2000) -> str:
    return ((request.form.get(name) if request.form else None) or "").strip()[:limit]

