"""Alembic environment: run from ``storage.db.Database.migrate`` or the ``alembic`` command.

``Database.migrate`` hands in an open connection (so it can hold its migration lock on it);
the ``alembic`` command line uses ``sqlalchemy.url`` from ``storage/alembic.ini`` or the
``SAPALAPOR_DATABASE_URL`` environment variable.
"""
from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _url():
    url = config.attributes.get("url") or os.environ.get("SAPALAPOR_DATABASE_URL")
    return url or config.get_main_option("sqlalchemy.url")


def run_migrations_offline() -> None:
    context.configure(url=str(_url()), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=str(_url()).startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), future=True)
    try:
        with engine.connect() as connection:
            _configure(connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
