"""The console's Sanic app: sessions, CSRF, roles, and the pages of each area.

Every request goes through :func:`_identify` (who is signed in, from the signed session cookie
and the session table) and every POST through :func:`_check_csrf`. A page handler calls
:meth:`Console.require` with the page it serves, which refuses (403, audited) anyone whose role
does not open it. Pages are rendered on the server (Jinja2, autoescaped) and work without
JavaScript; ``static/live.js`` only adds live updates to the handover page.
"""
from __future__ import annotations

import uuid
from typing import Optional

from sanic import Sanic, response
from sanic.exceptions import NotFound
from sanic.request import Request

from bot.settings import Settings
from console import security
from console.config import ConsoleConfig
from console.page_kit import (HERE, LOGIN_COOKIE, MAX_REQUEST_BYTES, SECURITY_HEADERS, SESSION_COOKIE, Console,
                              Refused, detached_account, SignInNeeded)
from console.roles import HOME
from storage.db import Database
from storage.repositories.accounts import SessionRepository


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
            account = await console.read(
                lambda session: detached_account(SessionRepository(session).account_of(digest)))
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

    @app.exception(SignInNeeded)
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

