"""``python -m bot migrate``: bring the database schema up to date (Alembic)."""
from __future__ import annotations

from bot.settings import load_settings
from storage.db import Database


def register(subparsers) -> None:
    parser = subparsers.add_parser("migrate", help="create or upgrade the database tables")
    parser.set_defaults(func=run)


def run(args) -> int:
    Database.shared(load_settings(args.config).database_url).migrate()
    print("Database is up to date.")
    return 0
