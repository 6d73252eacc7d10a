"""``verify --live``: the live tables against a fresh projection of the events.

The events are replayed into scratch tables (``<db>_ct_verify``, SQLite: ``ct_verify_*``)
exactly up to the live projection's tracked position, so a difference is a foreign write,
never lag: the comparison then reads the live position again in the snapshot it compares
in, and when the follower has moved meanwhile the scratch tables catch up to it first.
The scratch tables and their tracking row are dropped afterwards, however it ends.
"""

from __future__ import annotations

from domain.errors import OperationRefused
from infrastructure.projections import tracking
from infrastructure.projections.event_source import EventSource, sql_recorder_of
from infrastructure.projections.foreign_writes import ForeignWrites, compare_at_live_position
from infrastructure.projections.names import LIVE, PROJECTED_TABLES
from infrastructure.projections.rebuild import legacy_schema_of, replay_into_fresh_tables, require_live
from infrastructure.projections.runner import Progress, ProjectionRunner
from infrastructure.projections.swap import table_exists
from infrastructure.projections.tables import (
    TableNames,
    drop_projection_tables,
    projection_tables,
)

SCRATCH_LABEL = "ct_verify"
SCRATCH = "verify-live"  # the scratch projection's tracking row


def check_live(
    events: EventSource, *, batch_size: int = 5000, workers: int | None = None, progress: Progress | None = None
) -> ForeignWrites:
    """Every row of the live tables that differs from what the events say."""
    require_live(events)
    engine = sql_recorder_of(events).engine
    live = TableNames.live()
    missing = [t for t in PROJECTED_TABLES if not table_exists(engine, live, t)]
    if missing:
        raise OperationRefused(f"no live table {', '.join(missing)}: nothing to compare (`convtrack rebuild`)")
    live_tables = projection_tables(live, legacy_schema_of(events), with_agents_fk=False)
    scratch = TableNames.sibling(engine, SCRATCH_LABEL)
    try:
        runner = _build_scratch(events, scratch, batch_size, workers, progress)
        return compare_at_live_position(engine, runner, live_tables)
    finally:
        drop_projection_tables(engine, scratch)
        tracking.drop_tracking(engine, SCRATCH)


def _build_scratch(
    events: EventSource, names: TableNames, batch_size: int, workers: int | None, progress: Progress | None
) -> ProjectionRunner:
    """Scratch tables holding the events up to the live position read now."""
    engine = sql_recorder_of(events).engine
    with engine.connect() as conn:
        until = tracking.read_position(conn, LIVE)
    runner, _ = replay_into_fresh_tables(
        events, names, SCRATCH, until, batch_size=batch_size, workers=workers, progress=progress
    )
    return runner
