"""``convtrack verify``: the guide's post-migration checks plus row-level reconciliation.

Every legacy row must have exactly one projected row with every legacy column value
identical (compared as Python values: Decimal exactly, datetimes to the millisecond,
strings character for character), the new columns must hold what the bootstrap
promises, no ``callback`` queue type may remain, and every foreign key must resolve.

After a bootstrap that followed a rollback (a later cycle) the staging tables carry the
agents' work too, so the seed promises no longer describe them: there every legacy row
must equal the legacy shape of its staging row and every staging row must have its legacy
row (``legacy_diff``: the comparison that bootstrap made, made again from a fresh read).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.utils import get_topic
from sqlalchemy import BINARY, Connection, Engine, Table, cast, func, inspect, select

from bootstrap import legacy_diff
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from bootstrap.legacy_writeback import kept_tables
from bootstrap.seeders import choose_seeder
from bootstrap.sql_text import qualified_name, quote_name
from bootstrap.verify_sql import ServerComparison, rows_by_id
from domain.call_queue_entry import (
    CallQueueEntry,
    converted_queue_type,
    is_legacy_callback,
    legacy_callback_id,
    scheduled_for,
)
from domain.errors import OperationRefused
from domain.user_call_score import UserCallScore, current_queue_type
from domain.values import QueueType
from infrastructure.application import ConversionTracker
from infrastructure.database import is_sqlite
from infrastructure.projections.rebuild import legacy_schema_of
from infrastructure.projections.store_reader import StoreReader
from infrastructure.projections.tables import ProjectionTables, TableNames, projection_tables

MAX_LISTED = 200


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    checks: list[Check] = field(default_factory=list)
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    mismatch_count: int = 0
    figures: dict[str, Any] = field(default_factory=dict)
    compared: dict[str, dict[str, int]] = field(default_factory=dict)  # legacy table: {rows, columns}

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks) and self.mismatch_count == 0

    def check(self, name: str, ok: bool, detail: str) -> None:
        self.checks.append(Check(name, ok, detail))

    def mismatch(self, table: str, row_id: Any, column: str, legacy: Any, projected: Any) -> None:
        self.mismatch_count += 1
        if len(self.mismatches) < MAX_LISTED:
            self.mismatches.append(
                {
                    "table": table,
                    "id": row_id,
                    "column": column,
                    "legacy": repr(legacy),
                    "projected": repr(projected),
                }
            )


def staging_tables(tracker: ConversionTracker) -> ProjectionTables:
    engine = tracker.sql_recorder.engine
    names = TableNames.staging(engine)
    if not inspect(engine).has_table(names.scores, schema=names.schema):
        raise OperationRefused("no staging tables: run `convtrack bootstrap` first")
    return projection_tables(names, legacy_schema_of(tracker), with_agents_fk=False)


def verify(
    tracker: ConversionTracker, source: LegacySource, *, batch_size: int = 2000, progress: Any = None
) -> VerifyReport:
    run = tracker.bootstrap_run()
    if run is None or not run.completed:
        raise OperationRefused("nothing to verify: the bootstrap has not completed (`convtrack bootstrap`)")
    if run.cut_over:
        raise OperationRefused(
            "already cut over: verify compares the legacy tables with the staging tables "
            "before cutover; see the report it wrote then"
        )
    tables = staging_tables(tracker)
    report = VerifyReport()
    assert run.bootstrap_time is not None
    if run.cycle > 1:
        _reconcile_later_cycle(report, tracker, source, tables, batch_size)
        return report
    concurrent = not is_sqlite(tracker.sql_recorder.engine)  # (SQLite: one connection may serve all)
    with ThreadPoolExecutor(max_workers=1 if concurrent else None, thread_name_prefix="convtrack-events") as pool:
        seed_events: Future[dict[str, int]] = Future()
        if concurrent:
            seed_events = pool.submit(_count_seed_events, tracker)  # a pass over the events, meanwhile
        else:
            seed_events.set_result(_count_seed_events(tracker))
        _reconcile(report, tracker, source, tables, run.bootstrap_time, batch_size, progress, seed_events)
    return report


def _reconcile(
    report: VerifyReport,
    tracker: ConversionTracker,
    source: LegacySource,
    tables: ProjectionTables,
    bootstrap_time: Any,
    batch_size: int,
    progress: Any,
    seed_events: Future[dict[str, int]],
) -> None:
    engine = tracker.sql_recorder.engine
    with source.snapshot() as legacy, engine.connect() as ours:
        counts = {name: source.count(legacy, name) for name in ("user_call_scores", "call_queue")}
        report.compared = {name: {"rows": n, "columns": len(source.table(name).columns)} for name, n in counts.items()}
        projected = {
            "user_call_scores": _count(engine, tables.scores),
            "call_queue": _count(engine, tables.queue),
        }
        for name in counts:
            report.check(
                f"{name} count unchanged",
                counts[name] == projected[name],
                f"legacy {counts[name]}, projected {projected[name]}",
            )
        sides = _Sides(source, tables, bootstrap_time, legacy, ours)
        if choose_seeder(engine, source).in_server:  # compared where the bootstrap seeded
            _compare_in_server(report, sides, progress)
        else:
            _compare_in_python(report, sides, batch_size, progress, total=sum(counts.values()))
        _figures(report, legacy, source.table("user_call_scores"), ours, tables.scores)
    _no_callbacks_and_fks(report, engine, tables)
    _seed_event_checks(report, seed_events.result(), counts)
    _sampled_seed_events(report, tracker, tables)


def _reconcile_later_cycle(
    report: VerifyReport, tracker: ConversionTracker, source: LegacySource, tables: ProjectionTables, batch_size: int
) -> None:
    engine = tracker.sql_recorder.engine
    staged = kept_tables(engine, tables.names)
    with source.snapshot() as legacy, engine.connect() as ours:
        counts = {name: source.count(legacy, name) for name in MIGRATED_TABLES}
        report.compared = {name: {"rows": n, "columns": len(source.table(name).columns)} for name, n in counts.items()}
        for name, table in (("user_call_scores", tables.scores), ("call_queue", tables.queue)):
            projected = _count(engine, table)
            report.check(
                f"{name} count unchanged", counts[name] == projected, f"legacy {counts[name]}, projected {projected}"
            )
        left = 0
        for found in legacy_diff.differences(source, legacy, ours, staged, batch_size=batch_size):
            left += 1
            if not found.columns:  # a whole row on one side only
                sides = ("present", "missing") if found.kind == "added" else ("missing", "present")
                report.mismatch(found.table, found.row_id, "<row>", *sides)
            for column in found.columns:
                assert found.legacy is not None and found.tracker is not None
                report.mismatch(found.table, found.row_id, column, found.legacy[column], found.tracker.get(column))
        report.check(
            "every legacy row equals the legacy shape of its staging row, and each has one",
            left == 0,
            f"{left} rows differ (this cycle: a bootstrap after a rollback)",
        )
        _figures(report, legacy, source.table("user_call_scores"), ours, tables.scores)
    _no_callbacks_and_fks(report, engine, tables)


@dataclass
class _Sides:
    """What the row-level comparison reads: the legacy rows and the staging rows."""

    source: LegacySource
    tables: ProjectionTables
    bootstrap_time: Any
    legacy: Connection
    ours: Connection


def _compare_in_server(report: VerifyReport, sides: _Sides, progress: Any) -> None:
    comparison = ServerComparison(sides.source, sides.tables, sides.bootstrap_time)
    queue_table = sides.source.table("call_queue")

    def score_detail(ids: list[Any]) -> list[dict[str, Any]]:
        found = VerifyReport()
        rows = rows_by_id(sides.legacy, sides.source.table("user_call_scores"), ids)
        mine = rows_by_id(sides.ours, sides.tables.scores, ids)
        users = [r["user_id"] for r in rows.values()]
        entries: dict[int, list[dict[str, Any]]] = {}
        for row in sides.legacy.execute(select(queue_table).where(queue_table.c.user_id.in_(users))):
            entries.setdefault(row.user_id, []).append(dict(row._mapping))
        for row_id in ids:
            row = rows[row_id]
            _compare_score(found, row, mine.get(row_id), entries.get(row["user_id"], []), sides.bootstrap_time)
        return found.mismatches or [_unexplained("user_call_scores", ids[0])]

    def entry_detail(ids: list[Any]) -> list[dict[str, Any]]:
        found = VerifyReport()
        rows = rows_by_id(sides.legacy, queue_table, ids)
        mine = rows_by_id(sides.ours, sides.tables.queue, ids)
        for row_id in ids:
            _compare_entry(found, rows[row_id], mine.get(row_id))
        return found.mismatches or [_unexplained("call_queue", ids[0])]

    details = {"user_call_scores": score_detail, "call_queue": entry_detail}
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="convtrack-verify") as pool:
        tallies = {logical: pool.submit(comparison.tally, logical) for logical in details}  # both tables at once
        for done, (logical, tally) in enumerate(tallies.items(), start=1):
            count = tally.result()
            report.mismatch_count += count
            if count:
                listed = details[logical](comparison.first_differing(logical))
                report.mismatches.extend(listed[: MAX_LISTED - len(report.mismatches)])
            if progress:
                progress(done, len(details))


def _unexplained(table: str, row_id: Any) -> dict[str, Any]:
    return {
        "table": table,
        "id": row_id,
        "column": "<bytes>",
        "legacy": "differs from the projected row in the server's byte comparison",
        "projected": "(equal as Python values)",
    }


def _compare_in_python(report: VerifyReport, sides: _Sides, batch_size: int, progress: Any, total: int) -> None:
    """Every legacy row against its projected row, as Python values, in keyset batches."""
    done = 0
    queue_table = sides.source.table("call_queue")
    for batch in sides.source.batches(sides.legacy, "user_call_scores", key=("id",), size=batch_size):
        users = [r["user_id"] for r in batch]
        entries: dict[int, list[dict[str, Any]]] = {}
        for row in sides.legacy.execute(select(queue_table).where(queue_table.c.user_id.in_(users))):
            entries.setdefault(row.user_id, []).append(dict(row._mapping))
        mine = rows_by_id(sides.ours, sides.tables.scores, [r["id"] for r in batch])
        for row in batch:
            _compare_score(report, row, mine.get(row["id"]), entries.get(row["user_id"], []), sides.bootstrap_time)
        done += len(batch)
        if progress:
            progress(done, total)
    for batch in sides.source.batches(sides.legacy, "call_queue", key=("id",), size=batch_size):
        mine = rows_by_id(sides.ours, sides.tables.queue, [r["id"] for r in batch])
        for row in batch:
            _compare_entry(report, row, mine.get(row["id"]))
        done += len(batch)
        if progress:
            progress(done, total)


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar() or 0)


def _compare_columns(
    report: VerifyReport, table: str, legacy: dict[str, Any], projected: dict[str, Any], skip: set[str]
) -> None:
    for column, value in legacy.items():
        if column in skip:
            continue
        if column not in projected:
            report.mismatch(table, legacy["id"], column, value, "<column missing>")
        elif projected[column] != value or type(projected[column]) is not type(value):
            report.mismatch(table, legacy["id"], column, value, projected[column])


def _compare_score(
    report: VerifyReport,
    row: dict[str, Any],
    mine: dict[str, Any] | None,
    entries: list[dict[str, Any]],
    bootstrap_time: Any,
) -> None:
    if mine is None:
        report.mismatch("user_call_scores", row["id"], "<row>", "present", "missing")
        return
    _compare_columns(report, "user_call_scores", row, mine, skip=set())
    expected = {
        "is_active": True,
        "last_reset_date": row["created_at"],
        "last_queue_check": bootstrap_time,
        "current_queue_type": current_queue_type(entries),
    }
    for column, value in expected.items():
        if mine.get(column) != value:
            report.mismatch("user_call_scores", row["id"], column, f"expected {value!r}", mine.get(column))
    allowed = {converted_queue_type(e["queue_type"]) for e in entries} | {None}
    if mine.get("current_queue_type") not in allowed:
        report.mismatch(
            "user_call_scores",
            row["id"],
            "current_queue_type",
            f"one of {sorted(map(str, allowed))}",
            mine.get("current_queue_type"),
        )


def _compare_entry(report: VerifyReport, row: dict[str, Any], mine: dict[str, Any] | None) -> None:
    if mine is None:
        report.mismatch("call_queue", row["id"], "<row>", "present", "missing")
        return
    _compare_columns(report, "call_queue", row, mine, skip={"queue_type"})
    is_callback = is_legacy_callback(row["queue_type"])
    expected = {
        "queue_type": converted_queue_type(row["queue_type"]),
        "callback_id": legacy_callback_id(str(row["id"])) if is_callback else None,
        "callback_reason": row.get("queue_reason") if is_callback else None,
        "callback_scheduled_for": scheduled_for(row) if is_callback else None,
    }
    for column, value in expected.items():
        if mine.get(column) != value:
            report.mismatch("call_queue", row["id"], column, f"expected {value!r}", mine.get(column))


def _figures(report: VerifyReport, legacy: Any, legacy_scores: Table, ours: Any, scores: Table) -> None:
    def figures(conn: Any, table: Table) -> tuple[Any, ...]:
        c = table.c.current_score
        return tuple(conn.execute(select(func.min(c), func.max(c), func.sum(c), func.count())).one())

    before, after = figures(legacy, legacy_scores), figures(ours, scores)
    report.figures = {
        "legacy": {"min": before[0], "max": before[1], "sum": str(before[2]), "count": before[3]},
        "projected": {"min": after[0], "max": after[1], "sum": str(after[2]), "count": after[3]},
    }
    report.check("scores preserved (min, max, sum/avg, count)", before == after, f"legacy {before}, projected {after}")


def _no_callbacks_and_fks(report: VerifyReport, engine: Engine, tables: ProjectionTables) -> None:
    with engine.connect() as conn:
        left = conn.execute(
            select(func.count())
            .select_from(tables.queue)
            .where(_exactly(engine, tables.queue.c.queue_type, QueueType.LEGACY_CALLBACK))
        ).scalar()
        report.check("no 'callback' queue_type remains", left == 0, f"{left} rows with queue_type 'callback'")
        if inspect(engine).has_table("agents"):
            for table, column in (
                (tables.queue, "assigned_to_agent_id"),
                (tables.conversions, "primary_agent_id"),
            ):
                name = qualified_name(tables.names.schema or None, table.name, engine.dialect)
                ref = f"t.{quote_name(column, engine.dialect)}"
                dangling = conn.exec_driver_sql(
                    f"SELECT COUNT(*) FROM {name} t LEFT JOIN agents a "
                    f"ON a.id = {ref} WHERE {ref} IS NOT NULL AND a.id IS NULL"
                ).scalar()
                report.check(f"{table.name}.{column} resolves to agents", dangling == 0, f"{dangling} dangling")
        else:
            report.check("foreign keys", True, "no agents table in the tracker database: nothing to resolve")


def _exactly(engine: Engine, column: Any, value: str) -> Any:
    """``column = value`` byte for byte, as the domain compares (on MySQL, not by the _ci
    collation, which finds 'Callback' and 'callback ' equal to 'callback')."""
    if is_sqlite(engine):
        return column == value
    return cast(column, BINARY()) == value.encode()


SEED_TOPICS = {
    "user_call_scores": get_topic(UserCallScore.Seeded),
    "call_queue": get_topic(CallQueueEntry.Seeded),
}


def _count_seed_events(tracker: ConversionTracker) -> dict[str, int]:
    """Seed events per topic, in one pass over the events."""
    events = tracker.sql_recorder.events
    with tracker.sql_recorder.engine.connect() as conn:
        seeded = events.c.topic.in_(SEED_TOPICS.values())
        found = conn.execute(select(events.c.topic, func.count()).where(seeded).group_by(events.c.topic)).all()
    return {str(topic): int(count) for topic, count in found}


def _seed_event_checks(report: VerifyReport, found: dict[str, int], counts: dict[str, int]) -> None:
    for name, topic in SEED_TOPICS.items():
        seeded = found.get(topic, 0)
        report.check(
            f"one seed event per {name} row",
            seeded == counts[name],
            f"{seeded} seed events for {counts[name]} legacy rows",
        )


SAMPLED_EVENTS = 2000


def _sampled_seed_events(report: VerifyReport, tracker: ConversionTracker, tables: ProjectionTables) -> None:
    """Seed events spread evenly over the log, decoded by the library and projected as the
    runner projects them, must equal their staging rows. On the server path the staging
    rows are written from the legacy rows, so this reads the events themselves back."""
    recorder = tracker.sql_recorder
    events = recorder.events
    table_of = {SEED_TOPICS["user_call_scores"]: tables.scores, SEED_TOPICS["call_queue"]: tables.queue}
    with recorder.engine.connect() as conn:
        low, high = conn.execute(select(func.min(events.c.id), func.max(events.c.id))).one()
        if low is None:
            return
        ids = sorted({low + (high - low) * k // (SAMPLED_EVENTS - 1) for k in range(SAMPLED_EVENTS)})
        columns = (events.c.id, events.c.originator_id, events.c.originator_version, events.c.topic, events.c.state)
        rows = conn.execute(select(*columns).where(events.c.id.in_(ids), events.c.topic.in_(table_of))).all()
        reader = StoreReader(recorder, tracker.mapper)
        expected: dict[str, dict[str, dict[str, Any]]] = {}
        for row in rows:
            change = reader.event(tuple(row)).row_change()
            expected.setdefault(row.topic, {})[change.row_id] = change.values
        found = VerifyReport()
        for topic, by_id in expected.items():
            table = table_of[topic]
            logical = "user_call_scores" if table is tables.scores else "call_queue"
            staged = rows_by_id(conn, table, list(by_id))
            for row_id, values in by_id.items():
                _compare_columns(found, logical, values, staged.get(row_id) or {"id": row_id}, skip=set())
    for mismatch in found.mismatches:  # the seed event's value, where the others name the legacy one
        mismatch["column"] = f"{mismatch['column']} (seed event)"
    sampled = sum(len(by_id) for by_id in expected.values())
    report.check(
        "sampled seed events, decoded by the library, equal their staging rows",
        found.mismatch_count == 0,
        f"{sampled} events spread over the log, {found.mismatch_count} differing values",
    )
    report.mismatch_count += found.mismatch_count
    report.mismatches.extend(found.mismatches[: MAX_LISTED - len(report.mismatches)])
