"""Staff accounts and the audit log, for administrators.

An administrator creates accounts (the first administrator is made on the command line:
``python -m bot console-admin``), deactivates them (which ends their sessions at once) and reads
the audit log. Passwords are typed by the administrator once and stored only as argon2 hashes.
"""
from __future__ import annotations

from sanic import Sanic
from sanic.request import Request

from console.page_kit import Console, flash_redirect, form_value
from console.roles import ROLE_LABELS
from storage.models import STAFF_ROLES
from storage.repositories.accounts import AccountError, AccountRepository
from storage.repositories.audit import AuditLog


def _account(account) -> dict:
    return {"id": account.id, "username": account.username, "display_name": account.display_name,
            "role": account.role, "agency": account.agency, "active": account.active,
            "last_login_at": account.last_login_at}


def register(app: Sanic, console: Console) -> None:

    async def page(request: Request, status: int = 200, error: str = "", form: dict = None):
        items = await console.read(lambda session: [_account(item) for item in AccountRepository(session).all()])
        return console.render(request, "accounts.html", status=status, title="Akun petugas", items=items,
                              roles=STAFF_ROLES, role_labels=ROLE_LABELS, error=error, form=form or {})

    @app.get("/akun")
    async def accounts(request: Request):
        await console.require(request, "accounts")
        return await page(request)

    @app.post("/akun")
    async def create(request: Request):
        admin = await console.require(request, "accounts")
        form = {name: form_value(request, name, 200) for name in ("username", "display_name", "role", "agency")}
        password = (request.form.get("password") or "")[:1024]

        def work(session):
            account = AccountRepository(session).create(form["username"], form["display_name"], form["role"],
                                                        password, agency=form["agency"])
            AuditLog(session).record(admin.username, "account_created", account.username, account.role)
            return account.username
        try:
            username = await console.write(work)
        except AccountError as error:
            return await page(request, 400, f"Akun belum dibuat: {error}", form)
        return flash_redirect("/akun", f"Akun {username} dibuat.")

    @app.post("/akun/<account_id:int>/<change:aktifkan|nonaktifkan>")
    async def activate(request: Request, account_id: int, change: str):
        admin = await console.require(request, "accounts")

        def work(session):
            account = AccountRepository(session).set_active(account_id, change == "aktifkan")
            AuditLog(session).record(admin.username, f"account_{'enabled' if account.active else 'disabled'}",
                                     account.username)
            return account.username
        try:
            username = await console.write(work)
        except AccountError as error:
            return flash_redirect("/akun", f"Tidak diubah: {error}")
        return flash_redirect("/akun", f"Akun {username} {'diaktifkan' if change == 'aktifkan' else 'dinonaktifkan'}.")

    @app.get("/audit")
    async def audit(request: Request):
        await console.require(request, "audit")
        entries = await console.read(lambda session: [
            {"actor": entry.actor, "action": entry.action, "target": entry.target, "detail": entry.detail,
             "at": entry.at} for entry in AuditLog(session).recent(300)])
        return console.render(request, "audit.html", title="Catatan audit", entries=entries)
