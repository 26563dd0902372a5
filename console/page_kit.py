"""What every console page uses: the :class:`Console` (settings, storage, templates, the signed-in
person), cookies, forms, redirects and the security headers.

Why a module of its own: the page modules (login, reports, handovers, outreach, accounts) and
the app that registers them both use these; kept here, the app imports the pages and the pages
import this, with no cycle between them.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, Optional

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sanic import response
from sanic.exceptions import SanicException
from sanic.request import Request

from bot.settings import Settings
from console import security
from console.config import ConsoleConfig
from console.roles import PAGES, ROLE_LABELS, STATUS_LABELS
from console.throttle import AddressThrottle
from console.transcript import TranscriptReader
from storage.db import Database
from storage.lifecycle import format_date
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
            raise SignInNeeded()
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


class SignInNeeded(SanicException):
    status_code = 303


def client_address(request: Request) -> str:
    return request.ip or "-"


def detached_account(account):
    """Plain values of the account for this request (the session that loaded it is closed)."""
    if account is None:
        return None
    return SignedInAccount(account.id, account.username, account.display_name, account.role, account.agency,
                    account.active)


class SignedInAccount:
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

