"""At rollback, bring the kept legacy tables up to date with everything recorded since
cutover, in the legacy shape (``legacy_shape``), before they are renamed back.

It is a projection of its own (tracking row ``legacy-writeback``): the events after the
cutover position are read in order, in batches; each batch's legacy row changes are
folded and written with the projections' writers (``writer`` / ``mysql_bulk``) in one
transaction with the tracking row's advance, so each event is written back exactly once
and a rollback killed mid-way (kill -9) writes the rest when it is run again. Rows no
event touched are not written at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Column, Connection, Engine, MetaData, Table, select, text

from bootstrap.legacy_shape import LegacyShape, legacy_shape
from bootstrap.legacy_source import MIGRATED_TABLES
from domain.call_queue_entry import CallQueueEntry
from infrastructure.application import ConversionTracker
from infrastructure.database import is_sqlite, write_transaction
from infrastructure.projections import tracking
from infrastructure.projections.column_types import sa_type
from infrastructure.projections.mysql_bulk import MySQLBulkWriter
from infrastructure.projections.names import WRITEBACK
from infrastructure.projections.runner import SKIPPED_TOPICS, TABLE_OF_MODULE
from infrastructure.projections.store_reader import StoredRow, StoreReader
from infrastructure.projections.tables import TableNames, quote_sqlite
from infrastructure.projections.writer import BatchFold, write_fold

BATCH_EVENTS = 10_000
Writer = Callable[[Connection, BatchFold], None]


@dataclass
class WritebackStats:
    """What this run wrote back (a rerun after a kill counts only its own part)."""

    events: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # rows written per legacy table
    start: int = 0
    end: int = 0


def writeback_position(engine: Engine) -> int:
    tracking.create_tracking_tables(engine)
    tracking.ensure_tracking_row(engine, WRITEBACK)
    with engine.connect() as conn:
        return tracking.read_position(conn, WRITEBACK)


def write_back(
    tracker: ConversionTracker,
    kept: TableNames,
    since: int,
    checkpoint: Callable[[str], None] = lambda _point: None,
) -> WritebackStats:
    """Write back every event after ``since`` (the cutover position) up to the head."""
    engine = tracker.sql_recorder.engine
    stored = writeback_position(engine)
    position = max(stored, since)
    head = tracker.sql_recorder.max_notification_id() or 0
    tables = kept_tables(engine, kept)
    shape = legacy_shape((logical, [c.name for c in table.c]) for logical, table in tables.items())
    writers = _writers(engine, tables)
    reader = StoreReader(tracker.sql_recorder, tracker.mapper)
    stats = WritebackStats(start=position, end=position)
    while position < head:
        rows = reader.rows(position, head, BATCH_EVENTS)
        if not rows:
            break
        folds = _fold(tracker, reader, shape, rows)
        with write_transaction(engine) as conn:
            tracking.advance(conn, WRITEBACK, stored, rows[-1][0])
            for logical, fold in folds.items():
                writers[logical](conn, fold)
        stored = position = stats.end = rows[-1][0]
        stats.events += len(rows)
        for logical, fold in folds.items():
            stats.rows[logical] = stats.rows.get(logical, 0) + len(fold)
        checkpoint("after-writeback-batch")
    return stats


def kept_tables(engine: Engine, kept: TableNames) -> dict[str, Table]:
    """The kept legacy tables as they are (every column, with the type that writes it exactly)."""
    metadata = MetaData(schema=kept.schema)
    tables = {}
    for logical in MIGRATED_TABLES:
        physical = kept.all()[logical]
        columns = [
            Column(name, sa_type(declared), primary_key=name == "id")
            for name, declared in _columns(engine, kept.schema, physical)
        ]
        tables[logical] = Table(physical, metadata, *columns)
    return tables


def _columns(engine: Engine, schema: str | None, physical: str) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        if is_sqlite(engine):
            rows = conn.exec_driver_sql(f"PRAGMA table_info({quote_sqlite(physical)})").all()
            return [(str(r[1]), str(r[2] or "text").lower()) for r in rows]
        rows = conn.execute(
            text(
                "SELECT column_name, column_type FROM information_schema.columns "
                "WHERE table_schema = COALESCE(:s, DATABASE()) AND table_name = :t ORDER BY ordinal_position"
            ),
            {"s": schema, "t": physical},
        ).all()
    return [(str(r[0]), str(r[1]).lower()) for r in rows]


def _writers(engine: Engine, tables: dict[str, Table]) -> dict[str, Writer]:
    if is_sqlite(engine):
        return {logical: functools.partial(_generic_write, table) for logical, table in tables.items()}
    return {logical: MySQLBulkWriter(table, engine.dialect).write for logical, table in tables.items()}


def _generic_write(table: Table, conn: Connection, fold: BatchFold) -> None:
    write_fold(conn, table, fold)


def _fold(
    tracker: ConversionTracker, reader: StoreReader, shape: LegacyShape, rows: list[StoredRow]
) -> dict[str, BatchFold]:
    """The batch's legacy row changes, folded per table, in event order."""
    changes = []
    for row in rows:
        topic = row[3]
        logical = TABLE_OF_MODULE.get(topic.partition(":")[0])
        if logical is None or topic in SKIPPED_TOPICS or logical not in shape.columns:
            continue
        change = reader.event(row).row_change()
        if change.kind != "none":
            changes.append((logical, change))
    clearing = {c.row_id for logical, c in changes if shape.clears_callback(logical, c)}
    own_types = own_queue_types(tracker, reader, clearing) if clearing else {}
    folds: dict[str, BatchFold] = {}
    for logical, change in changes:
        legacy = shape.change(logical, change, own_types.get(change.row_id))
        if legacy is not None:
            folds.setdefault(logical, BatchFold()).add(legacy)
    return folds


def own_queue_types(tracker: ConversionTracker, reader: StoreReader, row_ids: set[str]) -> dict[str, str]:
    """Each entry's own queue type: the one its first event (seeded or enqueued) gave it;
    nothing changes it afterwards."""
    events = tracker.sql_recorder.events
    by_id = {CallQueueEntry.create_id(row_id).bytes: row_id for row_id in row_ids}
    found: dict[str, str] = {}
    keys = list(by_id)
    for start in range(0, len(keys), 1000):
        query = select(
            events.c.id, events.c.originator_id, events.c.originator_version, events.c.topic, events.c.state
        ).where(events.c.originator_id.in_(keys[start : start + 1000]), events.c.originator_version == 1)
        with tracker.sql_recorder.engine.connect() as conn:
            for stored in conn.execute(query):
                event = reader.event(tuple(stored))  # type: ignore[arg-type]
                found[by_id[bytes(stored[1])]] = str(event.queue_type)
    return found
