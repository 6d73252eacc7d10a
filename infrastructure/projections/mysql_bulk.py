"""Writes a folded batch to MariaDB/MySQL in a few large statements.

The generic path (SQLAlchemy executemany) spends most of a rebuild escaping parameters
one call chain per value, and runs one UPDATE per row. Here each value still goes through
its column's SQLAlchemy bind processor and PyMySQL's own encoders (so what reaches the
server is what the generic path sends), but the statements are rendered once per chunk:

- inserts: ``INSERT ... VALUES (...),(...) ON DUPLICATE KEY UPDATE`` (upserts: replaying
  a suffix converges, see ``writer``);
- updates: ``UPDATE t JOIN (SELECT ... UNION ALL SELECT ...) AS u ON t.id = u.id SET ...``,
  one statement per chunk of rows that set the same columns; a row that no longer exists
  is left alone, exactly as ``UPDATE ... WHERE id = ?`` would;
- deletes: ``DELETE ... WHERE id IN (...)``.

Statements stay far below ``max_allowed_packet`` (MariaDB's default is 16 MiB).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pymysql
from pymysql.constants import SERVER_STATUS
from pymysql.converters import encoders, escape_string
from sqlalchemy import Connection, Dialect, Table
from sqlalchemy import exc as sa_exc

from infrastructure.projections.writer import BatchFold

STATEMENT_BYTES = 1 << 20
UPDATE_ROWS = 500

Processor = Callable[[Any], Any] | None
Literal = Callable[[Any], str]  # a value as SQL
# Scalar types whose PyMySQL encoder is called directly (as ``escape_item`` would call it);
# anything else takes PyMySQL's full ``escape``.
_SCALAR_ENCODERS = {kind: encoders[kind] for kind in (bool, float, Decimal, datetime, date, time, timedelta)}


class MySQLBulkWriter:
    """Renders and runs the statements for one table; built once per table."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.table = table
        self.name = dialect.identifier_preparer.format_table(table)
        self.quote = dialect.identifier_preparer.quote
        self.columns = {c.name for c in table.c}
        self.processors: dict[str, Processor] = {
            c.name: c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.c
        }
        self.alias_upsert = bool(getattr(dialect, "_requires_alias_for_on_duplicate_key", False))

    def write(self, conn: Connection, fold: BatchFold) -> None:
        dbapi = conn.connection.dbapi_connection
        literal = _literal_renderer(dbapi)
        cursor = _Cursor(dbapi.cursor())  # type: ignore[union-attr]
        try:
            self._write(cursor, literal, fold)
        finally:
            cursor.raw.close()

    def _write(self, cursor: _Cursor, literal: Literal, fold: BatchFold) -> None:
        deletes = [row_id for row_id, p in fold.rows.items() if p.kind == "delete" or p.delete_first]
        for chunk in _fixed_chunks(deletes, 1000):
            ids = ",".join(literal(row_id) for row_id in chunk)
            cursor.execute(f"DELETE FROM {self.name} WHERE {self.quote('id')} IN ({ids})")
        inserts: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for row_id, pending in fold.rows.items():
            if pending.kind == "insert":
                row = pending.values
                if not row.keys() <= self.columns:  # a value for a column this table lacks
                    row = {k: v for k, v in row.items() if k in self.columns}
                inserts[tuple(row)].append(row)
            elif pending.kind == "update":
                row = {k: v for k, v in pending.values.items() if k in self.columns and k != "id"}
                if row:
                    row["id"] = row_id
                    updates[tuple(row)].append(row)
        for columns, rows in inserts.items():
            self._upsert(cursor, literal, columns, rows)
        for columns, rows in updates.items():
            self._update(cursor, literal, columns, rows)

    def _rendered(self, literal: Literal, columns: tuple[str, ...], row: dict[str, Any]) -> list[str]:
        processors = self.processors
        out = []
        for name in columns:
            value = row[name]
            process = processors[name]
            out.append(literal(value if process is None or value is None else process(value)))
        return out

    def _upsert(self, cursor: _Cursor, literal: Literal, columns: tuple[str, ...], rows: list[dict]) -> None:
        names = ",".join(self.quote(c) for c in columns)
        settable = [self.quote(c) for c in columns if c != "id"] or [self.quote("id")]
        head = f"INSERT INTO {self.name} ({names}) VALUES "
        if self.alias_upsert:
            tail = " AS new ON DUPLICATE KEY UPDATE " + ",".join(f"{c}=new.{c}" for c in settable)
        else:
            tail = " ON DUPLICATE KEY UPDATE " + ",".join(f"{c}=VALUES({c})" for c in settable)
        tuples = ("(" + ",".join(self._rendered(literal, columns, row)) + ")" for row in rows)
        for chunk in _sized_chunks(tuples, STATEMENT_BYTES):
            cursor.execute(head + ",".join(chunk) + tail)

    def _update(self, cursor: _Cursor, literal: Literal, columns: tuple[str, ...], rows: list[dict]) -> None:
        quoted = [self.quote(c) for c in columns]
        assignments = ",".join(f"t.{q}=u.{q}" for c, q in zip(columns, quoted, strict=True) if c != "id")
        key = self.quote("id")
        for chunk in _fixed_chunks(rows, UPDATE_ROWS):
            selects = []
            for index, row in enumerate(chunk):
                values = self._rendered(literal, columns, row)
                if index == 0:  # the first SELECT names the derived table's columns
                    values = [f"{value} AS {name}" for value, name in zip(values, quoted, strict=True)]
                selects.append("SELECT " + ",".join(values))
            derived = " UNION ALL ".join(selects)
            cursor.execute(f"UPDATE {self.name} AS t JOIN ({derived}) AS u ON t.{key}=u.{key} SET {assignments}")


class _Cursor:
    """Runs finished SQL (no parameters: PyMySQL would %-format it) and raises what
    SQLAlchemy would: ``IntegrityError``, ``DataError``, ``OperationalError``..."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, statement: str) -> None:
        try:
            self.raw.execute(statement)
        except pymysql.Error as error:
            shown = statement if len(statement) <= 500 else statement[:500] + " ..."
            raise sa_exc.DBAPIError.instance(shown, None, error, pymysql.Error) from error


def _string_escaper(dbapi: Any) -> Callable[[str], str]:
    """PyMySQL's public string escaping, honouring the session's NO_BACKSLASH_ESCAPES as
    the driver's own ``escape`` does."""
    if dbapi.server_status & SERVER_STATUS.SERVER_STATUS_NO_BACKSLASH_ESCAPES:
        return lambda text: text.replace("'", "''")
    return escape_string


def _literal_renderer(dbapi: Any) -> Literal:
    """One value as an SQL literal: PyMySQL's escaping, with its common cases inlined."""
    escape_string = _string_escaper(dbapi)
    escape = dbapi.escape

    def literal(value: Any) -> str:
        kind = type(value)
        if kind is str:
            return "'" + escape_string(value) + "'"
        if value is None:
            return "NULL"
        if kind is int:
            return str(value)
        if kind is datetime and value.tzinfo is None:
            return "'" + value.isoformat(" ") + "'"  # what escape_datetime gives, without str.format
        encoder = _SCALAR_ENCODERS.get(kind)
        if encoder is not None:
            return encoder(value, encoders)
        return escape(value)

    return literal


def _fixed_chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _sized_chunks(parts: Iterator[str], limit: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    size = 0
    for part in parts:
        if chunk and size + len(part) > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(part)
        size += len(part) + 1
    if chunk:
        yield chunk
