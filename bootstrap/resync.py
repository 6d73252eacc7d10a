"""``convtrack bootstrap`` after a rollback: the tracker takes up what the legacy app did.

After a rollback the legacy tables are live again and the legacy app writes them. The next
bootstrap brings the tracker up to them, so that verify and cutover work as the first time:

1. it builds fresh staging tables from every event (``rebuild.replay_into_fresh_tables``)
   and records ``BootstrapRun.ResyncStarted`` with the legacy tables' checksums (cutover
   compares them again) and its time;
2. it compares every legacy row with the legacy shape of its staging row
   (``legacy_diff``) and records, per user, in one transaction per batch of users:
   ``ChangedInLegacyApp`` / ``DeletedInLegacyApp`` (and ``AddedInLegacyApp`` for an id the
   tracker knew) on the row's aggregate, the ordinary seed events for new rows
   (``Seeded``; ``Registered`` for a user known only from a new queue row) and
   ``UserCallScore.QueueEntryAddedInLegacyApp`` to link a new entry to a known user;
3. ``Bootstrapper.run`` then projects the staging tables to the head and records the run
   completed.

Nothing recorded before is dropped: the events only add. Resumable: a rerun projects the
staging tables to the head (with the batches already recorded) and compares again, so
it finds only what is left and records nothing twice.

The tracker's own columns of a changed row (is_active, current_queue_type, the callback
columns but for a ``callback`` queue_type, …) stay as the tracker had them; a new score
row gets them as the first bootstrap gives them (last_queue_check: this run's time).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from sqlalchemy import Connection, Engine

from bootstrap import legacy_diff
from bootstrap.legacy_diff import RowDifference
from bootstrap.legacy_shape import LegacyShape
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource, refuse_if_legacy_changed
from bootstrap.legacy_writeback import BATCH_EVENTS, kept_tables
from bootstrap.python_seed import PythonSeeder
from bootstrap.seed_mapping import register_orphan, seed_queue_entry, seed_score
from bootstrap.server_seed import STAGING
from domain import call_queue_entry as entries
from domain import user_call_score as scores
from domain.bootstrap_run import BootstrapRun
from domain.call_queue_entry import (
    CallQueueEntry,
    converted_queue_type,
    is_legacy_callback,
    legacy_callback_id,
    scheduled_for,
)
from domain.errors import OperationRefused
from domain.user_call_score import UserCallScore
from domain.values import utc_now
from infrastructure.application import ConversionTracker
from infrastructure.database import database_identity
from infrastructure.projections import tracking
from infrastructure.projections.names import LIVE
from infrastructure.projections.rebuild import replay_into_fresh_tables
from infrastructure.projections.runner import SKIPPED_TOPICS, TABLE_OF_MODULE, ProjectionRunner
from infrastructure.projections.store_reader import StoreReader
from infrastructure.projections.swap import table_exists
from infrastructure.projections.tables import TableNames, create_projection_tables
from infrastructure.projections.writer import BatchFold

Checkpoint = Callable[[str], None]
ORDER = ("deleted", "changed", "added")
CALLBACK_COLUMNS = ("callback_id", "callback_scheduled_for", "callback_reason")


def refuse_unless_resyncable(run: BootstrapRun, tracker_url: str, source: LegacySource) -> None:
    """A bootstrap after a rollback needs a finished rollback (or its own interrupted run)
    and the legacy tables in the tracker's database: only there did the rollback write the
    tracker's work back, so only there is a difference the legacy app's doing."""
    if run.rollback_pending is not None:
        raise OperationRefused(
            "the rollback did not finish: run `convtrack rollback --yes` again first; nothing was changed"
        )
    if database_identity(source.url) != database_identity(tracker_url):
        raise OperationRefused(
            "a bootstrap after a rollback needs the legacy tables in the tracker's database; they live in "
            "another one (CONVTRACK_LEGACY_URL), where the rollback wrote nothing back, so the agents' work "
            "would look like the legacy app's changes. Nothing was changed; see docs/decisions.md"
        )


def preview(tracker: ConversionTracker, source: LegacySource, run: BootstrapRun) -> dict[str, int] | None:
    """What a bootstrap after a rollback would record, without writing: the legacy tables
    against the staging tables of an interrupted run, else the tracker's tables the last
    rollback retired, each with the events it does not hold yet read as if written (nothing
    records while rolled back, so that is every event). None when neither is there (the
    tables were dropped; the real run still works)."""
    engine = tracker.sql_recorder.engine
    names, projection = (_retired(engine, run), LIVE) if run.rolled_back else (TableNames.staging(engine), STAGING)
    if names is None or not all(table_exists(engine, names, t) for t in MIGRATED_TABLES):
        return None
    tables = kept_tables(engine, names)
    with engine.connect() as conn:
        position = tracking.read_position(conn, projection)
    pending = pending_changes(tracker, position)
    with source.snapshot() as legacy, engine.connect() as ours:
        return legacy_diff.tally(list(legacy_diff.differences(source, legacy, ours, tables, pending=pending)))


def pending_changes(tracker: ConversionTracker, after: int) -> dict[str, BatchFold]:
    """The net row change of every event after ``after``, per legacy table."""
    reader = StoreReader(tracker.sql_recorder, tracker.mapper)
    head = tracker.head_position()
    folds: dict[str, BatchFold] = {}
    while after < head:
        rows = reader.rows(after, head, BATCH_EVENTS)
        if not rows:
            break
        for row in rows:
            logical = TABLE_OF_MODULE.get(row[3].partition(":")[0])
            if logical not in MIGRATED_TABLES or row[3] in SKIPPED_TOPICS:
                continue
            change = reader.event(row).row_change()
            if change.kind != "none":
                folds.setdefault(str(logical), BatchFold()).add(change)
        after = rows[-1][0]
    return folds


def _retired(engine: Engine, run: BootstrapRun) -> TableNames | None:
    rollbacks = [entry["rollback"] for entry in run.history if "rollback" in entry]
    return TableNames.sibling(engine, rollbacks[-1]) if rollbacks else None


class Resync:
    """Steps 1 and 2 of the module's list (``Bootstrapper.run`` does step 3)."""

    def __init__(
        self, tracker: ConversionTracker, source: LegacySource, *, batch_size: int, checkpoint: Checkpoint
    ) -> None:
        self.tracker = tracker
        self.source = source
        self.batch_size = batch_size
        self.checkpoint = checkpoint
        self.engine = tracker.sql_recorder.engine

    def begin(self, run: BootstrapRun) -> BootstrapRun:
        """Fresh staging tables from every event, then ResyncStarted (a rerun before the
        record builds them again; after it, it keeps them)."""
        if run.resyncing:
            return run
        self._refuse_schema_change()
        replay_into_fresh_tables(
            self.tracker, TableNames.staging(self.engine), STAGING, None, batch_size=5000, workers=None, progress=None
        )
        checksums = {name: self.source.checksum(name) for name in MIGRATED_TABLES}
        with self.source.snapshot() as conn:
            counts = {name: self.source.count(conn, name) for name in MIGRATED_TABLES}
        run.start_resync(resync_time=utc_now(), legacy_checksums=checksums, legacy_counts=counts)
        self.tracker.save(run)
        return run

    def take_up(self, run: BootstrapRun, counts: dict[str, int]) -> None:
        """Record every difference left (a rerun: only those not recorded yet)."""
        assert run.resync_time is not None
        staging = TableNames.staging(self.engine)
        ProjectionRunner(
            self.tracker, create_projection_tables(self.engine, staging, self.tracker.legacy_schema()), STAGING
        ).run_once()
        tables = kept_tables(self.engine, staging)
        with self.source.snapshot() as legacy:
            with self.engine.connect() as ours:
                found = list(legacy_diff.differences(self.source, legacy, ours, tables, batch_size=self.batch_size))
            for name, count in legacy_diff.tally(found).items():
                counts[name] = count
            by_user: dict[int, list[RowDifference]] = defaultdict(list)
            for difference in found:
                by_user[difference.user_id].append(difference)
            users = sorted(by_user)
            units = _Units(self.tracker, self.source, run, legacy_diff.shape_of(self.source), legacy)
            for start in range(0, len(users), self.batch_size):
                aggregates = [a for u in users[start : start + self.batch_size] for a in units.of(u, by_user[u])]
                if aggregates:
                    written = sum(len(a.pending_events) for a in aggregates)
                    self.tracker.save(*aggregates)  # one transaction: a batch is recorded whole or not at all
                    counts["events written"] = counts.get("events written", 0) + written
                self.checkpoint("after-resync-batch")
        refuse_if_legacy_changed(run, self.source)

    def _refuse_schema_change(self) -> None:
        captured = self.tracker.legacy_schema()
        assert captured is not None
        for name in MIGRATED_TABLES:
            before = [c["name"] for c in captured.tables[name]["columns"]]
            now = [c["name"] for c in self.source.columns(name)]
            if before != now:
                raise OperationRefused(
                    f"the legacy table {name} has other columns than at the first bootstrap ({before} then, "
                    f"{now} now); a bootstrap after a rollback needs the same columns. Nothing was changed"
                )


class _Units:
    """The aggregates one user's differences change (new ones included), with their events."""

    def __init__(
        self,
        tracker: ConversionTracker,
        source: LegacySource,
        run: BootstrapRun,
        shape: LegacyShape,
        legacy: Connection,
    ) -> None:
        assert run.resync_time is not None
        self.tracker = tracker
        self.seeder = PythonSeeder(tracker, source, run, batch_size=1)
        self.resync_time: datetime = run.resync_time
        self.shape = shape
        self.legacy = legacy  # the legacy snapshot the differences were read in

    def _get(self, aggregate_id: UUID) -> Any:
        try:
            return self.tracker.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def of(self, user_id: int, found: list[RowDifference]) -> list[Aggregate]:
        score: UserCallScore | None = self._get(UserCallScore.create_id(user_id))
        touched: list[Aggregate] = []
        seeded = False
        found = sorted(found, key=lambda d: ORDER.index(d.kind))  # a replaced score row: the old one goes first
        for difference in (d for d in found if d.table == "user_call_scores"):
            if difference.kind == "added" and score is None:
                score, seeded = self._seed_score(user_id, difference), True
            else:
                score = self._score_event(score, difference)
        new_entries: list[dict[str, Any]] = []
        for difference in (d for d in found if d.table == "call_queue"):
            entry: CallQueueEntry | None = self._get(CallQueueEntry.create_id(difference.row_id))
            if difference.kind == "added" and entry is None:
                assert difference.legacy is not None
                entry = seed_queue_entry(difference.legacy)
                new_entries.append(difference.legacy)
            else:
                self._entry_event(entry, difference)
            touched.append(entry)
        if new_entries and not seeded:
            score = self._link(user_id, score, new_entries)
        return ([score] if score is not None else []) + touched

    def _seed_score(self, user_id: int, difference: RowDifference) -> UserCallScore:
        assert difference.legacy is not None
        user_entries = self.seeder.entries_of(self.legacy, [user_id]).get(user_id, [])
        agents = self.seeder.agents_of(self.legacy, [user_id]).get(user_id, [])
        return seed_score(difference.legacy, user_entries, agents, self.resync_time)

    def _score_event(self, score: UserCallScore | None, difference: RowDifference) -> UserCallScore:
        if score is None:
            raise OperationRefused(f"user_call_scores row {difference.row_id}: the tracker has no score of its user")
        record = scores.record_legacy_app_write
        if difference.kind == "deleted":
            record(score, scores.DeletedInLegacyApp, row_id=difference.row_id, legacy_row=difference.tracker)
        elif difference.kind == "changed":
            assert difference.legacy is not None
            values = {c: difference.legacy[c] for c in difference.columns}
            record(score, scores.ChangedInLegacyApp, legacy_values=values)
        else:
            assert difference.legacy is not None
            row = {
                **difference.legacy,
                "is_active": score.is_active,
                "current_queue_type": score.current_queue_type,
                "last_reset_date": difference.legacy["created_at"],
                "last_queue_check": self.resync_time,
            }
            record(score, scores.AddedInLegacyApp, row_id=difference.row_id, row=row)
        return score

    def _entry_event(self, entry: CallQueueEntry | None, difference: RowDifference) -> None:
        if entry is None:
            raise OperationRefused(f"call_queue row {difference.row_id}: the tracker has no entry of that id")
        record = entries.record_legacy_app_write
        if difference.kind == "deleted":
            record(entry, entries.DeletedInLegacyApp, legacy_row=difference.tracker)
        elif difference.kind == "changed":
            assert difference.legacy is not None
            values = {c: difference.legacy[c] for c in difference.columns}
            record(entry, entries.ChangedInLegacyApp, legacy_values=values, values=self._entry_values(difference))
        else:
            assert difference.legacy is not None
            record(entry, entries.AddedInLegacyApp, row=seed_queue_entry(difference.legacy).row)

    def _entry_values(self, difference: RowDifference) -> dict[str, Any]:
        """The tracker's columns a changed legacy row sets: the legacy columns as they are,
        but a queue_type or schedule change of a ``callback`` entry is the callback columns
        (as the first bootstrap maps them), and a queue_type that is no longer ``callback``
        takes the callback away."""
        legacy, tracker = difference.legacy, difference.tracker
        assert legacy is not None and tracker is not None
        values = {c: legacy[c] for c in difference.columns}
        if "queue_type" not in values and self.shape.schedule_column not in values:
            return values
        had_callback = tracker.get("callback_id") is not None
        if is_legacy_callback(legacy["queue_type"]):
            values.pop("queue_type", None)
            if not had_callback:
                values["queue_type"] = converted_queue_type(str(legacy["queue_type"]))
                values["callback_id"] = legacy_callback_id(difference.row_id)
                values["callback_reason"] = legacy.get("queue_reason")
            values["callback_scheduled_for"] = scheduled_for(legacy)
        elif had_callback:
            values.update(dict.fromkeys(CALLBACK_COLUMNS))
        return values

    def _link(self, user_id: int, score: UserCallScore | None, new: list[dict[str, Any]]) -> UserCallScore:
        if score is None:
            agents = self.seeder.agents_of(self.legacy, [user_id]).get(user_id, [])
            return register_orphan(user_id, new, agents)
        for row in new:
            scores.record_legacy_app_write(score, scores.QueueEntryAddedInLegacyApp, entry_row_id=str(row["id"]))
        return score
