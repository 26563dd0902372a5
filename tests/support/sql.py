"""Counting what a piece of code asks of the database, for tests that pin a per-turn cost."""
from __future__ import annotations

import contextlib
from typing import Iterator, List

from sqlalchemy import event


@contextlib.contextmanager
def transactions(database) -> Iterator[List[int]]:
    """Yields a list that grows by one for every transaction begun on ``database``'s engine."""
    seen: List[int] = []

    def begun(connection) -> None:
        seen.append(1)

    event.listen(database.engine, "begin", begun)
    try:
        yield seen
    finally:
        event.remove(database.engine, "begin", begun)
