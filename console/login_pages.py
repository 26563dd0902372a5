"""Signing in and out.

A failed sign-in says only that the name or password is wrong (never which), is written to the
audit log, and counts towards the throttle (console.throttle); after too many, the form asks
the person to wait, whatever the password. A successful sign-in starts a new session id, so a
session id planted before sign-in is worth nothing after it.
"""
from __future__ import annotations

import asyncio

from sanic import Sanic, response
from sanic.request import Request

from console import security
from console.page_kit import LOGIN_COOKIE, SESSION_COOKIE, Console, clear_cookie, client_address, form_value, set_cookie
from console.roles import HOME
from console.throttle import FAILED, MAX_FAILURES_PER_USERNAME, WINDOW, failures_of
from storage.repositories.accounts import AccountRepository, SessionRepository, password_matches
from storage.repositories.audit import AuditLog

WRONG = "Nama pengguna atau kata sandi salah."
WAIT = (f"Terlalu banyak percobaan masuk yang gagal. Tunggu {int(WINDOW.total_seconds() // 60)} menit, "
        "lalu coba lagi, atau hubungi administrator.")


def register(app: Sanic, console: Console) -> None:
    config = console.config

    def login_form(request: Request, status: int = 200, error: str = "", username: str = ""):
        fresh = None
        if not request.ctx.login_id:
            fresh = security.new_session_id()
            request.ctx.login_id = fresh
        answer = console.render(request, "login.html", status=status, title="Masuk", error=error, username=username)
        if fresh:
            set_cookie(answer, config, LOGIN_COOKIE, security.sign(config.session_key, fresh), 3600)
        return answer

    @app.get("/masuk")
    async def login_page(request: Request):
        if request.ctx.account is not None:
            return response.redirect(HOME[request.ctx.account.role], status=303)
        return login_form(request)

    @app.post("/masuk")
    async def login(request: Request):
        username = form_value(request, "username", 64).lower()
        password = (request.form.get("password") or "")[:1024]
        address = client_address(request)
        if console.throttle.blocked(address) or await console.read(
                lambda session: failures_of(session, username)) >= MAX_FAILURES_PER_USERNAME:
            await console.write(lambda session: AuditLog(session).record("-", "login_throttled", username))
            return login_form(request, 429, WAIT, username)

        # The hash is checked between two short transactions, never inside one: on SQLite a write
        # transaction holds the database's one write lock, which the gateway needs for every webhook.
        found = await console.read(lambda session: AccountRepository(session).credentials(username))
        matches = await asyncio.to_thread(password_matches, found[1] if found else None, password)

        def record(session):
            if not matches:
                AuditLog(session).record("-", FAILED, username)
                return None
            account = AccountRepository(session).signed_in(found[0], password)
            session_id = security.new_session_id()
            SessionRepository(session).open(security.session_digest(session_id), account.id, config.session_lifetime)
            AuditLog(session).record(account.username, "login")
            return session_id, account.role
        outcome = await console.write(record)
        if outcome is None:
            console.throttle.failed(address)
            return login_form(request, 401, WRONG, username)
        session_id, role = outcome
        answer = response.redirect(HOME[role], status=303)
        set_cookie(answer, config, SESSION_COOKIE, security.sign(config.session_key, session_id),
                   int(config.session_lifetime.total_seconds()))
        clear_cookie(answer, config, LOGIN_COOKIE)
        return answer

    @app.post("/keluar")
    async def logout(request: Request):
        if request.ctx.session_id:
            digest = security.session_digest(request.ctx.session_id)
            actor = request.ctx.account.username

            def end(session):
                SessionRepository(session).close(digest)
                AuditLog(session).record(actor, "logout")
            await console.write(end)
        answer = response.redirect("/masuk", status=303)
        clear_cookie(answer, config, SESSION_COOKIE)
        return answer

