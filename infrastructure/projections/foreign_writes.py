"""Foreign writes: rows of the live tables that the events do not say (decision 8).

The live tables are compared with tables projected afresh from the same events up to the
same position, row by row and column by column. On MariaDB/MySQL one SQL pass per table
joins the two both ways and compares every column NULL-safe and exactly (``<=>`` by value
for numbers and datetimes, ``CAST(... AS BINARY)`` for text, as ``bootstrap/verify_sql``
does); only the rows that differ come back, with a flag per column. On SQLite the rows are
compared in Python. The first rows that differ are then read on both sides, to show values.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Boolean, Connection, Date, DateTime, Engine, Integer, Numeric, Table, func, select

from domain.errors import OperationRefused
from infrastructure.database import is_sqlite
from infrastructure.projections import tracking
from infrastructure.projections.names import LIVE
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.projections.tables import ProjectionTables, quote_mysql

MAX_LISTED = 200
CHANGED, ONLY_LIVE, ONLY_EVENTS = "changed", "only in the live table", "only in the events"
ROW = "<row>"
CATCH_UP_SECONDS = 120  # a follower stops within a third of its lease once a rebuild holds it
_BY_VALUE = (Integer, Numeric, DateTime, Date, Boolean)


@dataclass
class RowDifference:
    table: str
    id: str
    kind: str  # CHANGED, ONLY_LIVE (a foreign insert) or ONLY_EVENTS (a foreign delete)
    columns: list[str]
    live: dict[str, str] = field(default_factory=dict)  # column: repr of the live value
    events: dict[str, str] = field(default_factory=dict)  # column: repr of what the events say


@dataclass
class ForeignWrites:
    position: int  # the events both sides hold
    counts: dict[str, int] = field(default_factory=dict)  # table: rows that differ
    rows: list[RowDifference] = field(default_factory=list)  # the first MAX_LISTED
    compared: dict[str, int] = field(default_factory=dict)  # table: live rows

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class ForeignWritesFound(OperationRefused):
    """A rebuild would overwrite or drop rows written outside the tracker."""

    def __init__(self, found: ForeignWrites) -> None:
        tables = ", ".join(f"{t} {n}" for t, n in found.counts.items() if n)
        super().__init__(
            f"{found.total} live rows differ from what the events say ({tables}): written outside the tracker. "
            "See `convtrack verify --live`; record them as commands, or `rebuild --discard-foreign-writes`"
        )
        self.found = found


def compare_tables(conn: Connection, live: ProjectionTables, events: ProjectionTables, position: int) -> ForeignWrites:
    """Every row of ``live`` against ``events`` (tables projected from the events up to
    ``position``), read on ``conn`` (one snapshot when it is one transaction)."""
    found = ForeignWrites(position)
    pairs = zip(live.by_logical_name().items(), events.by_logical_name().values(), strict=True)
    for (logical, live_table), events_table in pairs:
        differing = _in_python if is_sqlite(conn.engine) else _in_server
        listed: list[tuple[str, str, list[str]]] = []
        count = 0
        for row_id, kind, columns in differing(conn, live_table, events_table):
            count += 1
            if len(found.rows) + len(listed) < MAX_LISTED:
                listed.append((row_id, kind, columns))
        found.counts[logical] = count
        found.rows += _detailed(conn, logical, live_table, events_table, listed)
        found.compared[logical] = _count(conn, live_table)
    return found


def compare_at_live_position(engine: Engine, runner: ProjectionRunner, live: ProjectionTables) -> ForeignWrites:
    """Compare ``live`` with the tables ``runner`` keeps from the events, in one snapshot
    in which the live projection stands where ``runner`` does (``runner`` catches up when
    the follower applied more meanwhile): a difference is a foreign write, never lag."""
    deadline = time.monotonic() + CATCH_UP_SECONDS
    while True:
        with _snapshot(engine) as conn:
            position = tracking.read_position(conn, LIVE)  # the snapshot's first read
            built = runner.position()
            if position == built:
                return compare_tables(conn, live, runner.tables, position)
        if position < built:
            raise OperationRefused(f"the live projection moved back from {built} to {position} (a rebuild?); rerun")
        if time.monotonic() > deadline:
            raise OperationRefused(f"the live projection kept moving for {CATCH_UP_SECONDS} s; rerun")
        runner.run_once(until=position)  # the follower applied more meanwhile
        time.sleep(0.02)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent read of every table: a REPEATABLE READ transaction on MariaDB/MySQL
    (its snapshot is taken at the first read), one read transaction on SQLite."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _count(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def _columns(live: Table, events: Table) -> list[str]:
    return [c.name for c in events.c if c.name in live.c and c.name != "id"]


def _same(table: Table, name: str) -> str:
    column = quote_mysql(name)
    if isinstance(table.c[name].type, _BY_VALUE):
        return f"(l.{column} <=> e.{column})"
    return f"(CAST(l.{column} AS BINARY) <=> CAST(e.{column} AS BINARY))"


def _qualified(conn: Connection, table: Table) -> str:
    return conn.dialect.identifier_preparer.format_table(table)


def _in_server(conn: Connection, live: Table, events: Table) -> Iterator[tuple[str, str, list[str]]]:
    names = _columns(live, events)
    checks = [_same(events, name) for name in names]
    flags = ", ".join(f"NOT {check}" for check in checks) or "0"
    all_equal = " AND ".join(checks) or "1"
    key = quote_mysql("id")
    live_name, events_name = _qualified(conn, live), _qualified(conn, events)
    query = (
        f"SELECT l.{key}, e.{key} IS NULL, {flags} FROM {live_name} l LEFT JOIN {events_name} e "
        f"ON e.{key} = l.{key} WHERE e.{key} IS NULL OR NOT ({all_equal}) "
        f"UNION ALL SELECT e.{key}, NULL, {', '.join('0' for _ in names) or '0'} FROM {events_name} e "
        f"LEFT JOIN {live_name} l ON l.{key} = e.{key} WHERE l.{key} IS NULL ORDER BY 1"
    )
    for row in conn.exec_driver_sql(query):
        if row[1] is None:
            yield str(row[0]), ONLY_EVENTS, [ROW]
        elif row[1]:
            yield str(row[0]), ONLY_LIVE, [ROW]
        else:
            yield str(row[0]), CHANGED, [name for name, flag in zip(names, row[2:], strict=True) if flag]


def _in_python(conn: Connection, live: Table, events: Table) -> Iterator[tuple[str, str, list[str]]]:
    names = _columns(live, events)
    live_rows = {r.id: r._mapping for r in conn.execute(select(live))}
    events_rows = {r.id: r._mapping for r in conn.execute(select(events))}
    for row_id in sorted(live_rows.keys() | events_rows.keys(), key=str):
        mine, theirs = live_rows.get(row_id), events_rows.get(row_id)
        if theirs is None:
            yield str(row_id), ONLY_LIVE, [ROW]
        elif mine is None:
            yield str(row_id), ONLY_EVENTS, [ROW]
        else:
            columns = [n for n in names if mine[n] != theirs[n] or type(mine[n]) is not type(theirs[n])]
            if columns:
                yield str(row_id), CHANGED, columns


def _detailed(
    conn: Connection, logical: str, live: Table, events: Table, listed: list[tuple[str, str, list[str]]]
) -> list[RowDifference]:
    """The listed rows with their values on each side (the differing columns, or the
    whole row where one side has none)."""
    if not listed:
        return []
    ids = [_typed_id(live, row_id) for row_id, _, _ in listed]
    mine = {str(r.id): dict(r._mapping) for r in conn.execute(select(live).where(live.c.id.in_(ids)))}
    theirs = {str(r.id): dict(r._mapping) for r in conn.execute(select(events).where(events.c.id.in_(ids)))}
    found = []
    for row_id, kind, columns in listed:
        live_row, events_row = mine.get(row_id, {}), theirs.get(row_id, {})
        shown = columns if kind == CHANGED else list((live_row or events_row).keys())
        found.append(
            RowDifference(
                logical,
                row_id,
                kind,
                columns,
                {c: repr(live_row[c]) for c in shown if c in live_row},
                {c: repr(events_row[c]) for c in shown if c in events_row},
            )
        )
    return found


def _typed_id(table: Table, row_id: str) -> Any:
    return int(row_id) if isinstance(table.c.id.type, Integer) else row_id
