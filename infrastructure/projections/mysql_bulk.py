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

Given ``on_foreign`` (the live tables' writer), the rows a write meets that the events
never made are reported from the counts the statements return anyway (the connection
counts found rows): an upsert counts 2 for an existing row it changed, 1 for a new one;
an update counts the rows it found. Only when a count is off does one more query run.
(Updates are not checked on ``user_call_scores``: a user the events know without a score
row gets updates that find none, by design; ``verify --live`` finds a row deleted there.)

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

from infrastructure.projections.writer import BatchFold, ForeignRows

STATEMENT_BYTES = 1 << 20
UPDATE_ROWS = 500

Processor = Callable[[Any], Any] | None
Literal = Callable[[Any], str]  # a value as SQL
# Scalar types whose PyMySQL encoder is called directly (as ``escape_item`` would call it);
# anything else takes PyMySQL's full ``escape``.
_SCALAR_ENCODERS = {kind: encoders[kind] for kind in (bool, float, Decimal, datetime, date, time, timedelta)}


class MySQLBulkWriter:
    """Renders and runs the statements for one table; built once per table."""

    def __init__(
        self, table: Table, dialect: Dialect, on_foreign: ForeignRows | None = None, *, check_updates: bool = True
    ) -> None:
        self.table = table
        self.on_foreign = on_foreign
        self.check_updates = check_updates  # off where an update may legitimately find no row
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
        tuples = ((row["id"], "(" + ",".join(self._rendered(literal, columns, row)) + ")") for row in rows)
        for chunk in _sized_chunks(tuples, STATEMENT_BYTES):
            affected = cursor.execute(head + ",".join(text for _, text in chunk) + tail)
            if self.on_foreign is not None and affected > len(chunk):  # an existing row was changed
                ids = [str(row_id) for row_id, _ in chunk]
                self.on_foreign(self.table.name, "insert met existing rows", ids, affected - len(chunk))

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
            found = cursor.execute(
                f"UPDATE {self.name} AS t JOIN ({derived}) AS u ON t.{key}=u.{key} SET {assignments}"
            )
            if self.on_foreign is not None and self.check_updates and found < len(chunk):
                self._missing(cursor, literal, [row["id"] for row in chunk])

    def _missing(self, cursor: _Cursor, literal: Literal, ids: list[Any]) -> None:
        """Report the rows an update did not find (deleted outside the tracker)."""
        listed = ",".join(literal(row_id) for row_id in ids)
        cursor.execute(f"SELECT {self.quote('id')} FROM {self.name} WHERE {self.quote('id')} IN ({listed})")
        present = {str(row[0]) for row in cursor.raw.fetchall()}
        missing = [str(row_id) for row_id in ids if str(row_id) not in present]
        if missing and self.on_foreign is not None:
            self.on_foreign(self.table.name, "update found no row", missing, len(missing))


class _Cursor:
    """Runs finished SQL (no parameters: PyMySQL would %-format it) and raises what
    SQLAlchemy would: ``IntegrityError``, ``DataError``, ``OperationalError``..."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw

    def execute(self, statement: str) -> int:
        """Run ``statement``; the rows it affected (found, for an UPDATE)."""
        try:
            return int(self.raw.execute(statement) or 0)
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


def _sized_chunks(parts: Iterator[tuple[Any, str]], limit: int) -> Iterator[list[tuple[Any, str]]]:
    """(key, text) pairs in chunks whose texts add up to at most ``limit``."""
    chunk: list[tuple[Any, str]] = []
    size = 0
    for part in parts:
        if chunk and size + len(part[1]) > limit:
            yield chunk
            chunk, size = [], 0
        chunk.append(part)
        size += len(part[1]) + 1
    if chunk:
        yield chunk
