"""Helpers shared by the repositories."""
from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Optional, Sequence, Tuple, TypeVar

from sqlalchemy import bindparam, text
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


def upsert(session: Session, table, values: Mapping[str, Any], conflict: Sequence[str],
           update: Optional[Mapping[str, Optional[str]]] = None, returning: Optional[str] = None):
    """``INSERT ... ON CONFLICT (conflict) DO UPDATE SET ... / DO NOTHING`` as one cached statement.

    Why one statement: it decides "new or seen before" (and keeps the newer values) where
    :func:`insert_or_fetch` needs a read, a SAVEPOINT and an insert; that matters on paths run
    for every message. Why a text statement: SQLAlchemy 1.4 cannot cache the dialects' ``on_conflict_*`` inserts (their
    ``inherit_cache = False``), so each run compiled the statement anew, about a millisecond of
    CPU on every channel message for each of the two upserts a turn makes. The same SQL written
    once as a text statement per table and dialect, with the columns' types on its parameters
    (times and JSON are stored exactly as the ORM stores them), is compiled once.

    ``update``: column -> ``"excluded"`` (take the new row's value) or None (set NULL); no
    ``update`` means DO NOTHING. ``returning``: a column the statement returns for an inserted
    row (``.scalar()`` is None when the row existed and nothing was inserted). Columns left out
    get their constant defaults, as an ORM insert would give them; a default computed by a
    function (a time) must be passed.
    """
    values = {**_scalar_defaults(table, values), **values}
    statement = _upsert_statement(session.get_bind().dialect.name, table, tuple(values), tuple(conflict),
                                  tuple(update.items()) if update is not None else None, returning)
    return session.execute(statement, values)


@functools.lru_cache(maxsize=64)
def _upsert_statement(dialect: str, table, columns: Tuple[str, ...], conflict: Tuple[str, ...],
                      update: Optional[Tuple[Tuple[str, Optional[str]], ...]], returning: Optional[str]):
    # ``ON CONFLICT (...) DO ...`` and ``excluded.`` are the same in SQLite (>= 3.24) and PostgreSQL.
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
           f"ON CONFLICT ({', '.join(conflict)}) ")
    if update:
        sql += "DO UPDATE SET " + ", ".join(
            f"{column} = " + ("NULL" if source is None else f"excluded.{column}") for column, source in update)
    else:
        sql += "DO NOTHING"
    if returning:
        sql += f" RETURNING {returning}"
    statement = text(sql).bindparams(*(bindparam(column, type_=table.c[column].type) for column in columns))
    if returning:
        statement = statement.columns(table.c[returning])
    return statement


def _scalar_defaults(table, values: Mapping[str, Any]) -> dict:
    return {column.name: column.default.arg for column in table.columns
            if column.name not in values and column.default is not None and column.default.is_scalar}
