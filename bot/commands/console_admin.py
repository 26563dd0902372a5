"""``python -m bot console-admin USERNAME``: create a console account (the first administrator).

The password is read from the environment variable ``SAPALAPOR_CONSOLE_PASSWORD`` or, when it is
unset, from standard input (asked twice on a terminal, without echo) — never from a command-line
flag, which other users of the machine could read in the process list and shell history.
Further accounts are usually made in the console itself (Akun petugas).
"""
from __future__ import annotations

import getpass
import os
import sys

PASSWORD_ENV = "SAPALAPOR_CONSOLE_PASSWORD"


def register(subparsers) -> None:
    from storage.models import STAFF_ROLES

    parser = subparsers.add_parser("console-admin", help="create a staff console account (password from stdin or env)")
    parser.add_argument("username")
    parser.add_argument("--name", help="full name shown in the console (default: the username)")
    parser.add_argument("--role", choices=STAFF_ROLES, default="administrator")
    parser.add_argument("--agency", help="the agency of an agency_officer, as written on reports")
    parser.set_defaults(func=run)


def read_password() -> str:
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise ValueError("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


def run(args) -> int:
    from bot.settings import load_settings
    from storage.db import Database
    from storage.repositories.accounts import AccountError, AccountRepository
    from storage.repositories.audit import AuditLog

    try:
        password = read_password()
    except ValueError as error:
        print(f"Not created: {error}", file=sys.stderr)
        return 2
    database = Database.shared(load_settings(args.config).database_url)
    database.migrate()
    try:
        with database.session() as session:
            account = AccountRepository(session).create(args.username, args.name or args.username, args.role,
                                                        password, agency=args.agency)
            AuditLog(session).record("console-admin command", "account_created", account.username, account.role)
            print(f"Account {account.username} ({account.role}) created.")
    except AccountError as error:
        print(f"Not created: {error}", file=sys.stderr)
        return 2
    return 0
