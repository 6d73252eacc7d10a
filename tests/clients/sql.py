"""What the tables hold after a client wrote them, read with SQL: one row of a query."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from infrastructure.database import make_engine


def one_row(database_url: str, sql: str, **params: Any) -> tuple[Any, ...] | None:
    """The single row ``sql`` answers (as a tuple), or None when it answers none."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text(sql), params).one_or_none()
    finally:
        engine.dispose()
    return None if found is None else tuple(found)
