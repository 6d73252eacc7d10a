"""The statements every command runs, as driver SQL built once per recorder.

Under API load a command spent more time in SQLAlchemy building, caching and executing
Core statements (the writer lock, the next id, the event and idempotency inserts, the
aggregate's events) than on the wire. These run through ``exec_driver_sql`` instead:
same connection and transaction, same error translation, no statement construction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Table


class CommandSql:
    def __init__(self, engine: Engine, events: Table, writer_lock: Table, idempotency: Table) -> None:
        dialect = engine.dialect
        table = dialect.identifier_preparer.format_table
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.lock_writers = f"SELECT {quote('id')} FROM {table(writer_lock)} WHERE {quote('id')} = 1 FOR UPDATE"
        self.max_id = f"SELECT MAX({quote('id')}) FROM {table(events)}"
        columns = ("id", "originator_id", "originator_version", "topic", "state")
        self.insert_event = (
            f"INSERT INTO {table(events)} ({', '.join(quote(c) for c in columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))})"
        )
        self.select_events = (
            f"SELECT {quote('originator_version')}, {quote('topic')}, {quote('state')} FROM {table(events)} "
            f"WHERE {quote('originator_id')} = {mark} ORDER BY {quote('originator_version')}"
        )
        kept = ("idempotency_key", "command", "fingerprint", "result", "position", "created_at")
        self.insert_idempotency = (
            f"INSERT INTO {table(idempotency)} ({', '.join(quote(c) for c in kept)}) "
            f"VALUES ({', '.join([mark] * len(kept))})"
        )
        self.select_idempotency = (
            f"SELECT {', '.join(quote(c) for c in kept[:5])} FROM {table(idempotency)} "
            f"WHERE {quote('idempotency_key')} = {mark}"
        )
        # created_at is written as the column type writes it (SQLite keeps a string)
        process: Callable[[Any], Any] | None = idempotency.c.created_at.type.dialect_impl(dialect).bind_processor(
            dialect
        )
        self.created_at: Callable[[Any], Any] = process or (lambda value: value)
