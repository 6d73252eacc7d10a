"""Where the cutover stands, for ``convtrack status``: the lifecycle's phase and record,
and how far each projection has got. Read only: nothing is created or written, and a
database the tracker has not touched yet is simply ``not_bootstrapped``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, MetaData, func, inspect, select

from domain.lifecycle import MEANING, NEXT_STEP, Phase
from infrastructure.event_store.tables import event_store_tables
from infrastructure.migrations.upgrade import SchemaState, schema_state
from infrastructure.projections.copies import Copy, list_copies
from infrastructure.projections.tracking import tracking_table
from infrastructure.settings import Settings
from infrastructure.wiring import Lifecycle, lifecycle_on, read_only_engine


@dataclass(frozen=True)
class ProjectionPosition:
    name: str
    position: int
    lag: int
    updated_at: datetime


@dataclass(frozen=True)
class Status:
    lifecycle: Lifecycle
    head: int | None = None  # the newest event's position; None without an event store
    projections: list[ProjectionPosition] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)  # kept, retired and rolled-back table sets
    schema: SchemaState | None = None  # the tracker's own schema revision; None without a database

    def to_dict(self) -> dict[str, Any]:
        phase, run = self.lifecycle.phase, self.lifecycle.run
        return {
            "phase": str(phase),
            "meaning": MEANING[phase],
            "entered_at": _iso(self.lifecycle.entered_at),
            "next": NEXT_STEP[phase],
            "bootstrap_time": _iso(run.bootstrap_time) if run else None,
            "counts": dict(run.counts) if run else {},
            "legacy_label": run.legacy_label if run else None,
            "cutover_pending": run.cutover_pending if run else None,
            "rollback_pending": run.rollback_pending if run else None,
            "history": [dict(entry) for entry in run.history] if run else [],
            "head": self.head,
            "projections": [
                {"name": p.name, "position": p.position, "lag": p.lag, "updated_at": _iso(p.updated_at)}
                for p in self.projections
            ],
            "copies": [copy.to_dict() for copy in self.copies],
            "schema": None if self.schema is None else self.schema.describe(),
            "schema_version": None if self.schema is None else self.schema.current,
            "schema_head": None if self.schema is None else self.schema.head,
        }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def read_status(settings: Settings) -> Status:
    engine = read_only_engine(settings)
    if engine is None:
        return Status(Lifecycle(Phase.NOT_BOOTSTRAPPED, None))
    try:
        lifecycle = lifecycle_on(engine, settings.events_table)
        head = _head(engine, settings.events_table)
        schema = schema_state(engine, settings.events_table)
        return Status(lifecycle, head, _projections(engine, head or 0), list_copies(engine), schema)
    finally:
        engine.dispose()


def _head(engine: Engine, events_table: str) -> int | None:
    if not inspect(engine).has_table(events_table):
        return None
    events, _, _ = event_store_tables(MetaData(), events_table)
    with engine.connect() as conn:
        return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def _projections(engine: Engine, head: int) -> list[ProjectionPosition]:
    if not inspect(engine).has_table(tracking_table.name):
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(tracking_table).order_by(tracking_table.c.name)).all()
    return [
        ProjectionPosition(row.name, int(row.position), max(head - int(row.position), 0), row.updated_at)
        for row in rows
    ]
