"""Rebuild: replay the whole store into fresh tables while the live ones keep serving
reads, catch up to the head, then swap them in atomically. The old tables are kept
(retired) until dropped explicitly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.bootstrap_run import BootstrapRun
from domain.errors import NotFound, OperationRefused
from domain.legacy_schema import LegacySchema
from infrastructure.database import is_sqlite
from infrastructure.projections import copies, tracking
from infrastructure.projections.event_source import EventSource, aggregate_or_none, sql_recorder_of
from infrastructure.projections.foreign_writes import ForeignWrites, ForeignWritesFound, compare_at_live_position
from infrastructure.projections.labels import Kind, kept_tables, make_label
from infrastructure.projections.names import LIVE, PROJECTED_TABLES, REBUILD
from infrastructure.projections.parallel_replay import default_workers, replay_in_parallel
from infrastructure.projections.runner import Progress, ProjectionFailed, ProjectionRunner
from infrastructure.projections.swap import Move, swap_tables, table_exists
from infrastructure.projections.tables import (
    ProjectionTables,
    TableNames,
    create_projection_tables,
    drop_projection_tables,
    projection_tables,
)


@dataclass(frozen=True)
class RebuildResult:
    events: int
    position: int
    retired: TableNames | None
    retired_label: str | None = None
    foreign_rows: int = 0  # live rows written outside the tracker that the swap discarded


def legacy_schema_of(events: EventSource) -> LegacySchema | None:
    schema: LegacySchema | None = aggregate_or_none(events, LegacySchema.create_id())
    return schema


def require_live(events: EventSource) -> None:
    """The live tables are the tracker's only when no bootstrap is pending or rolled back:
    before cutover (and after a rollback) the live names hold the legacy tables, which
    the tracker never writes."""
    run: BootstrapRun | None = aggregate_or_none(events, BootstrapRun.create_id())
    if run is None:
        return
    if not run.cut_over:
        raise OperationRefused(
            "the live tables are the legacy ones (bootstrap not cut over, or rolled back); "
            "the tracker will not write them. Run `convtrack cutover` first"
        )


def open_live_tables(events: EventSource) -> ProjectionTables:
    require_live(events)
    return create_projection_tables(sql_recorder_of(events).engine, TableNames.live(), legacy_schema_of(events))


def rebuild(
    events: EventSource,
    *,
    progress: Progress | None = None,
    batch_size: int = 5000,
    swap: bool = True,
    workers: int | None = None,
    discard_foreign_writes: bool = False,
) -> RebuildResult:
    """``workers``: processes for the bulk of the replay (MariaDB/MySQL); by default 2 from
    100,000 events on, else 1 (see ``parallel_replay``). The catch-up and swap run here.
    The swap is refused (``ForeignWritesFound``) while a live row differs from what the
    events say, unless ``discard_foreign_writes``."""
    if swap:
        require_live(events)
    engine = sql_recorder_of(events).engine
    target = TableNames.sibling(engine, "ct_rebuild")
    runner, applied = replay_into_fresh_tables(
        events, target, REBUILD, None, batch_size=batch_size, workers=workers, progress=progress
    )
    if not swap:
        return RebuildResult(applied, runner.position(), None)

    holder = f"rebuild-{uuid.uuid4().hex[:8]}"
    tracking.ensure_tracking_row(engine, LIVE)
    tracking.steal_lease(engine, LIVE, holder, ttl_seconds=300)
    try:
        applied += runner.run_once(progress)  # catch up to the head while followers stand still
        foreign = _foreign_rows(events, runner, batch_size, discard_foreign_writes)
        position = runner.position()  # the rebuilt tables may have caught up with a follower
        if foreign.total and not discard_foreign_writes:
            raise ForeignWritesFound(foreign)
        live = TableNames.live()
        label = make_label(Kind.RETIRED, datetime.now(UTC), uuid.uuid4().hex[:4])
        retired = TableNames.sibling(engine, label)
        moves = [Move(t, live, retired) for t in PROJECTED_TABLES if table_exists(engine, live, t)]
        moves += [Move(t, target, live) for t in PROJECTED_TABLES]
        swap_tables(engine, moves, tracking=(LIVE, position))
        copies.isolate(engine, retired)  # the retired copy no longer names live tables
    finally:
        tracking.release_lease(engine, LIVE, holder)
    return RebuildResult(applied, position, retired, label, foreign.total)


def replay_into_fresh_tables(
    events: EventSource,
    names: TableNames,
    name: str,
    until: int | None,
    *,
    batch_size: int,
    workers: int | None,
    progress: Progress | None,
) -> tuple[ProjectionRunner, int]:
    """Fresh tables ``names`` holding every event up to ``until`` (None: the head), tracked
    as projection ``name``; the bulk in ``workers`` processes on MariaDB/MySQL (by default 2
    from 100,000 events on, see ``parallel_replay``). Returns the runner and the count applied."""
    engine = sql_recorder_of(events).engine
    drop_projection_tables(engine, names)
    legacy_schema = legacy_schema_of(events)
    tables = create_projection_tables(engine, names, legacy_schema)
    tracking.create_tracking_tables(engine)
    tracking.reset_tracking(engine, name)
    runner = ProjectionRunner(events, tables, name, batch_size=batch_size)
    bulk = runner.head() if until is None else until
    workers = default_workers(engine, bulk) if workers is None else workers
    applied = 0
    if workers > 1 and not is_sqlite(engine) and bulk > 0:
        applied = replay_in_parallel(
            events, names, legacy_schema, name, bulk, workers, batch_size=batch_size, progress=progress
        )
    applied += runner.run_once(progress, until=until)
    return runner, applied


def _foreign_rows(events: EventSource, rebuilt: ProjectionRunner, batch_size: int, discard: bool) -> ForeignWrites:
    """The live rows that differ from the rebuilt ones at one position: the live projection
    is brought to the rebuilt one's first (the rebuild holds its lease: followers stop).
    When the live tables cannot take an event (a row written outside, say a score row for
    a user the events create later, can block it), the swap is refused unless ``discard``."""
    position = rebuilt.position()
    engine = sql_recorder_of(events).engine
    live = TableNames.live()
    if not all(table_exists(engine, live, t) for t in PROJECTED_TABLES):
        return ForeignWrites(position)
    live_tables = projection_tables(live, legacy_schema_of(events), with_agents_fk=False)
    try:
        ProjectionRunner(events, live_tables, LIVE, batch_size=batch_size).run_once(until=position)
    except ProjectionFailed as error:
        if discard:
            return ForeignWrites(position)  # how many rows differ is not known: they are discarded
        raise OperationRefused(
            f"the live tables cannot take an event the rebuilt ones took ({error}); a row written outside "
            "the tracker may block it: see `convtrack verify --live`, or `rebuild --discard-foreign-writes`"
        ) from error
    return compare_at_live_position(engine, rebuilt, live_tables)


DROPPABLE = frozenset({Kind.RETIRED, Kind.ROLLED_BACK})


def drop_retired(events: EventSource, label: str) -> None:
    """Drop a kept copy of the tracker's tables: a rebuild's old tables (``ct_retired_*``)
    or a rollback's (``ct_rolledback_*``). The label is checked before any SQL (only names
    the tool makes), and must name tables that exist and that no interrupted rollback needs."""
    engine = sql_recorder_of(events).engine
    names = kept_tables(engine, label, DROPPABLE)
    run: BootstrapRun | None = aggregate_or_none(events, BootstrapRun.create_id())
    if run is not None and label == run.rollback_pending:
        raise OperationRefused(f"{label} holds the tables of an interrupted rollback: run `convtrack rollback` first")
    if not any(table_exists(engine, names, logical) for logical in PROJECTED_TABLES):
        raise NotFound(f"no tables are kept as {label}")
    drop_projection_tables(engine, names)
