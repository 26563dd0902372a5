"""Helpers shared by the repositories."""
from __future__ import annotations

from typing import Callable, Optional, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

T = TypeVar("T")


def insert_or_fetch(session: Session, make: Callable[[], T], fetch: Callable[[], Optional[T]]) -> tuple[T, bool]:
    """Insert ``make()`` unless a unique constraint says the row exists; then return ``fetch()``.

    The database decides (not a check-then-insert), so two racing callers end with one row and
    exactly one of them sees ``created=True``. The insert runs in a SAVEPOINT so a conflict does
    not spoil the caller's transaction.
    """
    existing = fetch()
    if existing is not None:
        return existing, False
    row = make()
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        found = fetch()
        if found is None:
            raise
        return found, False
    return row, True


def dialect_insert(session: Session, table):
    """An INSERT that can say ``ON CONFLICT`` on the session's database (SQLite or PostgreSQL).

    Why: a conflict-aware insert decides "new or seen before" in one statement, where
    :func:`insert_or_fetch` needs a read, a SAVEPOINT and an insert: that matters on paths run
    for every message.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
