"""The statements every command runs, as driver SQL built once per recorder, run on
the DBAPI cursor of the caller's SQLAlchemy connection.

Under API load a command spent more time in SQLAlchemy building, caching and executing
Core statements (the writer lock, the next id, the event and idempotency inserts, the
aggregate's events) than on the wire; ``exec_driver_sql`` still built an execution
context and a result per statement. ``driver_cursor`` runs them on the same connection
and transaction with the same error translation: a driver error becomes SQLAlchemy's
exception (IntegrityError, OperationalError...) and a lost connection is invalidated,
as SQLAlchemy does for its own statements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table
from sqlalchemy import exc as sa_exc


@contextmanager
def driver_cursor(conn: Connection) -> Iterator[Any]:
    """A DBAPI cursor of ``conn`` (inside its current transaction, if any)."""
    dbapi_connection = conn.connection.dbapi_connection
    driver_error = conn.dialect.loaded_dbapi.Error
    cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except driver_error as error:
        lost = conn.invalidated or conn.dialect.is_disconnect(error, dbapi_connection, cursor)
        if lost and not conn.invalidated:
            conn.invalidate(error)
        raise sa_exc.DBAPIError.instance(
            None, None, error, driver_error, connection_invalidated=lost, dialect=conn.dialect
        ) from error
    finally:
        if not conn.invalidated:
            cursor.close()


class CommandSql:
    def __init__(self, engine: Engine, events: Table, writer_lock: Table, idempotency: Table) -> None:
        dialect = engine.dialect
        table = dialect.identifier_preparer.format_table
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.lock_writers = f"SELECT {quote('id')} FROM {table(writer_lock)} WHERE {quote('id')} = 1 FOR UPDATE"
        self.max_id = f"SELECT MAX({quote('id')}) FROM {table(events)}"
        columns = ("id", "originator_id", "originator_version", "topic", "state")
        self.insert_event_prefix = f"INSERT INTO {table(events)} ({', '.join(quote(c) for c in columns)}) VALUES "
        self.event_values = f"({', '.join([mark] * len(columns))})"
        self.insert_event = self.insert_event_prefix + self.event_values
        self.select_events = (
            f"SELECT {quote('originator_version')}, {quote('topic')}, {quote('state')} FROM {table(events)} "
            f"WHERE {quote('originator_id')} = {mark} ORDER BY {quote('originator_version')}"
        )
        kept = ("idempotency_key", "command", "fingerprint", "result", "position", "created_at")
        self.insert_idempotency_prefix = (
            f"INSERT INTO {table(idempotency)} ({', '.join(quote(c) for c in kept)}) VALUES "
        )
        self.idempotency_values = f"({', '.join([mark] * len(kept))})"
        self.insert_idempotency = self.insert_idempotency_prefix + self.idempotency_values
        self.select_idempotency = (
            f"SELECT {', '.join(quote(c) for c in kept[:5])} FROM {table(idempotency)} "
            f"WHERE {quote('idempotency_key')} = {mark}"
        )
        self._keys_in = (
            f"SELECT {quote('idempotency_key')} FROM {table(idempotency)} WHERE {quote('idempotency_key')} IN "
        )
        self._mark = mark
        # MariaDB/MySQL, the group committer's one round trip: ids after a session variable
        # INTO at the end: MySQL 8 deprecates it before FROM; MariaDB takes both
        self.max_id_into_base = f"SELECT COALESCE(MAX({quote('id')}), 0) FROM {table(events)} INTO @convtrack_base"
        self.select_base = "SELECT @convtrack_base"
        self.event_values_after_base = "(@convtrack_base+%s, %s, %s, %s, %s)"
        self.idempotency_values_after_base = "(%s, %s, %s, %s, @convtrack_base+%s, %s)"
        # created_at is written as the column type writes it (SQLite keeps a string)
        process: Callable[[Any], Any] | None = idempotency.c.created_at.type.dialect_impl(dialect).bind_processor(
            dialect
        )
        self.created_at: Callable[[Any], Any] = process or (lambda value: value)

    def recorded_keys(self, count: int) -> str:
        """Which of ``count`` idempotency keys are already recorded."""
        return f"{self._keys_in}({', '.join([self._mark] * count)})"
