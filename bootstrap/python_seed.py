"""The bootstrap's Python path: the domain makes every seed event from one consistent
snapshot of the legacy tables (keyset batches over a read-only connection), and the
recorder inserts them in batches, skipping aggregates already stored (a resume).

Used where the server path cannot run (``seeders.choose_seeder``); writes the same events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from sqlalchemy import Connection, func, select

from bootstrap.legacy_source import LegacySource
from bootstrap.seed_mapping import register_orphan, seed_queue_entry, seed_score
from bootstrap.seeders import Progress
from domain.bootstrap_run import BootstrapRun
from infrastructure.application import ConversionTracker
from infrastructure.database import write_transaction

Batch = tuple[list[Aggregate], int]  # the aggregates, and how many legacy rows they come from


class PythonSeeder:
    """The Python path (a ``seeders.Seeder``)."""

    def __init__(self, tracker: ConversionTracker, source: LegacySource, run: BootstrapRun, *, batch_size: int) -> None:
        assert run.bootstrap_time is not None
        self.tracker = tracker
        self.source = source
        self.run = run
        self.batch_size = batch_size
        self.recorder = tracker.sql_recorder

    def seed(self, counts: dict[str, int], progress: Progress | None, total: int) -> int:
        done = 0
        with self.source.snapshot() as conn:
            for aggregates, rows in self._seed_aggregates(conn, counts):
                self._write(aggregates, counts)
                done += rows
                if progress:
                    progress(done, total)
        return done

    def confirm_legacy_unchanged(self) -> None:
        """Every row was read in one snapshot: nothing to confirm."""

    # ------------------------------------------------------------------ reading

    def _seed_aggregates(self, conn: Connection, counts: dict[str, int]) -> Iterator[Batch]:
        """Batches of seed aggregates: the scored users', then the orphan queue rows'."""
        scores = self.source.table("user_call_scores")
        for batch in self.source.batches(conn, "user_call_scores", key=("user_id",), size=self.batch_size):
            yield self._scored_batch(conn, batch, counts)

        queue = self.source.table("call_queue")
        orphan = ~queue.c.user_id.in_(select(scores.c.user_id))
        pending: list[dict[str, Any]] = []
        for batch in self.source.batches(conn, "call_queue", key=("user_id", "id"), size=self.batch_size, where=orphan):
            pending.extend(batch)
            last_user = pending[-1]["user_id"]
            ready = [r for r in pending if r["user_id"] != last_user]
            pending = [r for r in pending if r["user_id"] == last_user]
            if ready:
                yield self._orphans(conn, ready, counts), len(ready)
        if pending:
            yield self._orphans(conn, pending, counts), len(pending)

    def _scored_batch(self, conn: Connection, batch: list[dict[str, Any]], counts: dict[str, int]) -> Batch:
        assert self.run.bootstrap_time is not None
        users = [row["user_id"] for row in batch]
        entries = self.entries_of(conn, users)
        agents = self.agents_of(conn, users)
        aggregates: list[Aggregate] = []
        for row in batch:
            user_entries = entries.get(row["user_id"], [])
            aggregates.extend(seed_queue_entry(entry) for entry in user_entries)
            aggregates.append(seed_score(row, user_entries, agents.get(row["user_id"], []), self.run.bootstrap_time))
            counts["queue rows"] += len(user_entries)
        counts["score rows"] += len(batch)
        return aggregates, len(batch) + sum(len(entries.get(u, [])) for u in users)

    def _orphans(self, conn: Connection, rows: list[dict[str, Any]], counts: dict[str, int]) -> list[Aggregate]:
        by_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_user[row["user_id"]].append(row)
        agents = self.agents_of(conn, list(by_user))
        aggregates: list[Aggregate] = []
        for user_id, user_rows in by_user.items():
            aggregates.extend(seed_queue_entry(row) for row in user_rows)
            aggregates.append(register_orphan(user_id, user_rows, agents.get(user_id, [])))
        counts["queue rows"] += len(rows)
        counts["orphan queue rows"] += len(rows)
        counts["users without a score row"] += len(by_user)
        return aggregates

    def entries_of(self, conn: Connection, users: list[int]) -> dict[int, list[dict[str, Any]]]:
        queue = self.source.table("call_queue")
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in conn.execute(select(queue).where(queue.c.user_id.in_(users)).order_by(queue.c.user_id, queue.c.id)):
            found[row.user_id].append(dict(row._mapping))
        return found

    def agents_of(self, conn: Connection, users: list[int]) -> dict[int, list[int]]:
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

    def _write(self, aggregates: list[Aggregate], counts: dict[str, int]) -> None:
        events = [event for aggregate in aggregates for event in aggregate.collect_events()]
        already = self._existing({e.originator_id for e in events})
        fresh = [e for e in events if e.originator_id not in already]
        counts["events skipped (already stored)"] += len(events) - len(fresh)
        if not fresh:
            return
        stored = [self.tracker.mapper.to_stored_event(e) for e in fresh]
        with write_transaction(self.recorder.engine) as conn:
            self.recorder.insert_events_in(conn, stored)
        counts["events written"] += len(stored)

    def _existing(self, ids: set[UUID]) -> set[UUID]:
        table = self.recorder.events
        with self.recorder.engine.connect() as conn:
            found = conn.execute(
                select(table.c.originator_id).where(
                    table.c.originator_id.in_([i.bytes for i in ids]), table.c.originator_version == 1
                )
            ).scalars()
            return {UUID(bytes=bytes(b)) for b in found}
