"""``convtrack bootstrap``: every legacy row becomes exactly one seed event, once.

Resumable: aggregate ids derive from legacy keys and the bootstrap time is fixed by the
first run's BootstrapRun.Started event, so a rerun after kill -9 skips what is stored
and writes exactly what an uninterrupted run would have written.

Two paths write the same events: the server path (``server_seed``: the database builds them,
when legacy and tracker share a MariaDB/MySQL database) and the Python path here (the
domain makes them from one consistent snapshot, batched through the recorder).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from sqlalchemy import Connection, func, select

from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from bootstrap.seed_mapping import register_orphan, seed_queue_entry, seed_score
from bootstrap.server_seed import STAGING, ServerSeeder, check_legacy_unchanged, server_path_refusal
from domain.bootstrap_run import BOOTSTRAP_RUN_ID, BootstrapRun
from domain.errors import OperationRefused
from domain.legacy_schema import LEGACY_SCHEMA_ID, LegacySchema
from domain.values import utc_now
from infrastructure.application import ConversionTracker
from infrastructure.database import write_transaction
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.projections.tables import ProjectionTables, TableNames, create_projection_tables

Progress = Callable[[int, int], None]
__all__ = ["STAGING", "Bootstrapper", "BootstrapReport", "load_run"]


@dataclass
class BootstrapReport:
    dry_run: bool
    resumed: bool = False
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    position: int = 0
    path: str = ""


def load_run(tracker: ConversionTracker) -> BootstrapRun | None:
    try:
        run: BootstrapRun = tracker.repository.get(BOOTSTRAP_RUN_ID)
    except AggregateNotFoundError:
        return None
    return run


def capture_schema(source: LegacySource) -> LegacySchema:
    tables = {
        name: {"columns": source.columns(name), "create_sql": source.create_sql(name)} for name in MIGRATED_TABLES
    }
    return LegacySchema.capture(tables)


class Bootstrapper:
    def __init__(
        self, tracker: ConversionTracker, source: LegacySource, *, batch_size: int = 2000, in_server: bool = True
    ) -> None:
        """``in_server=False`` takes the Python path even where the server path could run."""
        self.tracker = tracker
        self.source = source
        self.batch_size = batch_size
        self.in_server = in_server
        self.recorder = tracker.sql_recorder

    # ------------------------------------------------------------------ the run

    def run(self, *, dry_run: bool = False, progress: Progress | None = None) -> BootstrapReport:
        run = load_run(self.tracker)
        if run is not None and run.completed:
            raise OperationRefused(
                "the bootstrap already completed (it runs once); nothing was changed. "
                "Next: `convtrack verify`, then `convtrack cutover`"
            )
        self.source.require_tables()
        report = BootstrapReport(dry_run=dry_run, resumed=run is not None)
        if run is None:
            checksums = {name: self.source.checksum(name) for name in MIGRATED_TABLES}
            with self.source.snapshot() as conn:
                counts = {name: self.source.count(conn, name) for name in MIGRATED_TABLES}
            run = BootstrapRun.start(bootstrap_time=utc_now(), legacy_checksums=checksums, legacy_counts=counts)
            if not dry_run:
                self.tracker.save(capture_schema(self.source), run)
        assert run.bootstrap_time is not None
        refusal = server_path_refusal(self.tracker, self.source)
        if dry_run or not self.in_server:
            refusal = "a dry run" if dry_run else "asked for"
        report.path = f"Python path ({refusal})" if refusal else "server path (INSERT … SELECT in the database)"
        total = sum(int(run.legacy_counts.get(name, 0)) for name in MIGRATED_TABLES)
        done = 0
        if refusal is None:
            staging = self._staging_tables()
            ProjectionRunner(self.tracker, staging, STAGING).run_once()  # the run's own events first
            seeder = ServerSeeder(self.tracker, self.source, run, staging, batch_size=self.batch_size)
            done = seeder.run(report.counts, progress, total)
        else:
            with self.source.snapshot() as conn:
                for aggregates, rows in self._seed_aggregates(conn, run, report):
                    if not dry_run:
                        self._write(aggregates, report)
                    else:
                        for aggregate in aggregates:
                            report.counts[f"would write {type(aggregate).__name__}"] += 1
                    done += rows
                    if progress:
                        progress(done, total)
        if dry_run:
            return report
        if refusal is None:
            check_legacy_unchanged(self.source, run)
        run.complete({k: int(v) for k, v in report.counts.items()})
        self.tracker.save(run)
        report.position = self.recorder.max_notification_id() or 0
        return report

    def project_staging(self, progress: Progress | None = None) -> int:
        """Build the staging tables from the events (exactly once, resumable)."""
        runner = ProjectionRunner(self.tracker, self._staging_tables(), STAGING)
        return runner.run_once(progress=progress)

    def _staging_tables(self) -> ProjectionTables:
        engine = self.recorder.engine
        schema: LegacySchema | None
        try:
            schema = self.tracker.repository.get(LEGACY_SCHEMA_ID)
        except AggregateNotFoundError:
            schema = None
        return create_projection_tables(engine, TableNames.staging(engine), schema)

    # ------------------------------------------------------------------ reading

    def _seed_aggregates(self, conn: Connection, run: BootstrapRun, report: BootstrapReport) -> Any:
        """Batches of seed aggregates: the scored users', then the orphan queue rows'."""
        scores = self.source.table("user_call_scores")
        for batch in self.source.batches(conn, "user_call_scores", key=("user_id",), size=self.batch_size):
            yield self._scored_batch(conn, batch, run, report)

        queue = self.source.table("call_queue")
        orphan = ~queue.c.user_id.in_(select(scores.c.user_id))
        pending: list[dict[str, Any]] = []
        for batch in self.source.batches(conn, "call_queue", key=("user_id", "id"), size=self.batch_size, where=orphan):
            pending.extend(batch)
            last_user = pending[-1]["user_id"]
            ready = [r for r in pending if r["user_id"] != last_user]
            pending = [r for r in pending if r["user_id"] == last_user]
            if ready:
                yield self._orphans(conn, ready, report), len(ready)
        if pending:
            yield self._orphans(conn, pending, report), len(pending)

    def _scored_batch(
        self, conn: Connection, batch: list[dict[str, Any]], run: BootstrapRun, report: BootstrapReport
    ) -> tuple[list[Aggregate], int]:
        assert run.bootstrap_time is not None
        users = [row["user_id"] for row in batch]
        entries = self._entries_of(conn, users)
        agents = self._agents_of(conn, users)
        aggregates: list[Aggregate] = []
        for row in batch:
            user_entries = entries.get(row["user_id"], [])
            aggregates.extend(seed_queue_entry(entry) for entry in user_entries)
            aggregates.append(seed_score(row, user_entries, agents.get(row["user_id"], []), run.bootstrap_time))
            report.counts["queue rows"] += len(user_entries)
        report.counts["score rows"] += len(batch)
        return aggregates, len(batch) + sum(len(entries.get(u, [])) for u in users)

    def _orphans(self, conn: Connection, rows: list[dict[str, Any]], report: BootstrapReport) -> list[Aggregate]:
        by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_user[row["user_id"]].append(row)
        agents = self._agents_of(conn, list(by_user))
        aggregates: list[Aggregate] = []
        for user_id, user_rows in by_user.items():
            aggregates.extend(seed_queue_entry(row) for row in user_rows)
            aggregates.append(register_orphan(user_id, user_rows, agents.get(user_id, [])))
        report.counts["queue rows"] += len(rows)
        report.counts["orphan queue rows"] += len(rows)
        report.counts["users without a score row"] += len(by_user)
        return aggregates

    def _entries_of(self, conn: Connection, users: list[int]) -> dict[int, list[dict[str, Any]]]:
        queue = self.source.table("call_queue")
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in conn.execute(select(queue).where(queue.c.user_id.in_(users)).order_by(queue.c.user_id, queue.c.id)):
            found[row.user_id].append(dict(row._mapping))
        return found

    def _agents_of(self, conn: Connection, users: list[int]) -> dict[int, list[int]]:
        """Contributing agents per user from call_sessions, in order of first call."""
        if not self.source.has_table("call_sessions") or not users:
            return {}
        sessions = self.source.table("call_sessions")
        first_call = func.min(sessions.c.started_at)
        query = (
            select(sessions.c.user_id, sessions.c.agent_id, first_call)
            .where(sessions.c.user_id.in_(users))
            .group_by(sessions.c.user_id, sessions.c.agent_id)
            .order_by(sessions.c.user_id, first_call, sessions.c.agent_id)
        )
        agents: dict[int, list[int]] = defaultdict(list)
        for user_id, agent_id, _first in conn.execute(query):
            agents[user_id].append(int(agent_id))
        return agents

    # ------------------------------------------------------------------ writing

    def _write(self, aggregates: list[Aggregate], report: BootstrapReport) -> None:
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        already = self._existing({e.originator_id for e in events})
        fresh = [e for e in events if e.originator_id not in already]
        report.counts["events skipped (already stored)"] += len(events) - len(fresh)
        if not fresh:
            return
        stored = [self.tracker.mapper.to_stored_event(e) for e in fresh]
        with write_transaction(self.recorder.engine) as conn:
            self.recorder.insert_events_in(conn, stored)
        report.counts["events written"] += len(stored)

    def _existing(self, ids: set[UUID]) -> set[UUID]:
        table = self.recorder.events
        with self.recorder.engine.connect() as conn:
            found = conn.execute(
                select(table.c.originator_id).where(
                    table.c.originator_id.in_([i.bytes for i in ids]), table.c.originator_version == 1
                )
            ).scalars()
            return {UUID(bytes=bytes(b)) for b in found}
