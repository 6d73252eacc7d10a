"""Reading what the tables hold after a client wrote them, with SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from infrastructure.database import make_engine


@contextmanager
def connection(database_url: str) -> Iterator[Connection]:
    """A connection of its own engine, disposed of afterwards."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def one_row(database_url: str, sql: str, **params: Any) -> tuple[Any, ...] | None:
    """The single row ``sql`` answers (as a tuple), or None when it answers none."""
    with connection(database_url) as conn:
        found = conn.execute(text(sql), params).one_or_none()
    return None if found is None else tuple(found)
