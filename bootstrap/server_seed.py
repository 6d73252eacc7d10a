"""The bootstrap's server path: when the legacy tables and the tracker share one MariaDB/
MySQL database (the real case), the scored users' seed events are built by the server.

First, one pass over each legacy table folds what the score events need from the others
into work tables (current queue type, queue entry ids, contributing agents). Then, per
range of users, one transaction takes the writer lock and inserts the range's queue-entry
and score seed events with ``INSERT … SELECT`` (``seed_sql``). On a second connection,
while the server builds the next range's events, the stager writes the rows those events
project to and advances the staging projection's position to the range's last event, in
one transaction, only if the projection stands exactly before the range: exactly once.
Otherwise (after a resume, say) the projection runner applies those events later.
Nothing crosses the network but statements and counts.

Each statement reads the legacy rows in its own consistent, non-locking read (the engine's
READ COMMITTED): legacy tables are only ever read. The statements do not share one
snapshot, so the legacy checksums are taken again at the end and must equal the ones taken
at the start; if the app wrote in between, the bootstrap refuses to complete
(docs/decisions.md).

Resumable: ranges commit whole and in user order, so after a kill the seeded users are a
prefix; a rerun finds where it ends (binary search on the score events) and goes on.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DataError, IntegrityError

from bootstrap.legacy_source import LegacySource, refuse_if_legacy_changed
from bootstrap.seed_sql import SeedSql, legacy_columns
from bootstrap.seeders import Progress
from domain.bootstrap_run import BootstrapRun
from domain.user_call_score import UserCallScore
from infrastructure.application import ConversionTracker
from infrastructure.event_store.command_sql import driver_cursor
from infrastructure.projections import tracking
from infrastructure.projections.runner import ProjectionFailed, ProjectionRunner
from infrastructure.projections.tables import ProjectionTables

STAGING = "staging"


@dataclass
class RangeResult:
    queue_rows: int = 0
    users: int = 0  # score events (or Registered events for users without a score row)
    before: int = 0  # the last event id before the range's
    after: int = 0  # the range's last event id

    @property
    def written(self) -> int:
        return self.queue_rows + self.users


@dataclass(frozen=True)
class Phase:
    scored: bool  # users with a score row; else users known only from queue rows
    events: tuple[str, str]  # queue-entry events, then the users' events
    staging: tuple[str, ...]


class ServerSeeder:
    """The server path (a ``seeders.Seeder``)."""

    def __init__(
        self,
        tracker: ConversionTracker,
        source: LegacySource,
        run: BootstrapRun,
        staging: ProjectionTables,
        *,
        batch_size: int,
    ) -> None:
        assert run.bootstrap_time is not None
        self.tracker = tracker
        self.source = source
        self.run = run
        self.staging = staging
        self.recorder = tracker.sql_recorder
        self.engine = self.recorder.engine
        self.batch_size = batch_size
        events = self.engine.dialect.identifier_preparer.format_table(self.recorder.events)
        self.sql = SeedSql(
            legacy_columns(source),
            bootstrap_time=run.bootstrap_time,
            staging_scores=staging.names.qualified("user_call_scores"),
            staging_queue=staging.names.qualified("call_queue"),
            events_table=events,
        )
        self.with_sessions = source.has_table("call_sessions")
        # the users with a score row, then the users known only from queue rows
        self.phases = (
            Phase(
                True,
                (self.sql.queue_events(True), self.sql.score_events()),
                (self.sql.queue_staging(True), self.sql.score_staging()),
            ),
            Phase(
                False, (self.sql.queue_events(False), self.sql.registered_events()), (self.sql.queue_staging(False),)
            ),
        )

    # ----------------------------------------------------------------- the loop

    def seed(self, counts: dict[str, int], progress: Progress | None, total: int) -> int:
        """Seed every legacy row: the users with a score row, then the users known only
        from queue rows. Return how many legacy rows were seeded (for progress)."""
        ProjectionRunner(self.tracker, self.staging, STAGING).run_once()  # the run's own events first
        done = 0
        self._build_user_tables()
        with self.engine.connect() as conn:
            _session_settings(conn)
            with _Stager(self.engine, self.sql, counts) as stager:
                for phase in self.phases:
                    after: int | None = None
                    while (bounds := self._next_range(conn, phase, after)) is not None:
                        first, last, users = bounds
                        start = self._resume_point(conn, phase, first, last)
                        if start is None:
                            counts["users skipped (already seeded)"] += users
                        else:
                            result = self._seed_range(conn, phase, start, last)
                            counts["events written"] += result.written
                            if phase.scored:
                                counts["score rows"] += result.users
                            else:
                                counts["users without a score row"] += result.users
                                counts["orphan queue rows"] += result.queue_rows
                            counts["queue rows"] += result.queue_rows
                            stager.submit(phase, start, last, result)
                            done += result.queue_rows + (result.users if phase.scored else 0)
                        after = last
                        if progress:
                            progress(min(done, total), total)
            conn.exec_driver_sql(self.sql.drop_user_tables())
        return done

    def _build_user_tables(self) -> None:
        """The work tables, their independent folds on two connections at once."""
        with self.engine.connect() as conn:
            conn.exec_driver_sql(self.sql.drop_user_tables())
            conn.commit()

        def build(statements: list[str]) -> None:
            with self.engine.connect() as conn:
                _session_settings(conn)
                for statement in statements:
                    conn.exec_driver_sql(statement)
                conn.commit()

        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="convtrack-fold") as pool:
            for done in [pool.submit(build, group) for group in self.sql.user_tables(self.with_sessions)]:
                done.result()

    def confirm_legacy_unchanged(self) -> None:
        """Each statement read the legacy rows in its own consistent read: equal checksums
        at the start and the end prove they all saw the same rows."""
        refuse_if_legacy_changed(self.run, self.source)

    def _next_range(self, conn: Connection, phase: Phase, after: int | None) -> tuple[int, int, int] | None:
        row = conn.execute(self.sql.next_range(phase.scored, after, self.batch_size)).one()
        conn.rollback()
        if row[0] is None:
            return None
        return int(row[0]), int(row[1]), int(row[2])

    def _resume_point(self, conn: Connection, phase: Phase, first: int, last: int) -> int | None:
        """The first user of the range still to seed (None: all are seeded). Seeded users
        are a prefix in user order, so a binary search over the range finds the end."""
        try:
            if not self._seeded(conn, first):
                return first
            if self._seeded(conn, last):
                return None
            users = [int(u) for u in conn.execute(self.sql.users_in_range(phase.scored, first, last)).scalars()]
            low, high = 0, len(users) - 1  # users[low] is seeded, users[high] is not
            while high - low > 1:
                middle = (low + high) // 2
                if self._seeded(conn, users[middle]):
                    low = middle
                else:
                    high = middle
            return users[high]
        finally:
            conn.rollback()

    def _seeded(self, conn: Connection, user_id: int) -> bool:
        statement = text(f"SELECT 1 FROM {self.sql.events} WHERE originator_id = :id AND originator_version = 1")
        found = conn.execute(statement.bindparams(id=UserCallScore.create_id(user_id).bytes)).first()
        return found is not None

    # ----------------------------------------------------------------- one range

    def _seed_range(self, conn: Connection, phase: Phase, first: int, last: int) -> RangeResult:
        """The range's seed events in one transaction, under the writer lock (the staging
        rows follow in the stager's transaction)."""
        result = RangeResult()
        with conn.begin():
            result.before = self.recorder.lock_and_next_id(conn) - 1
            with driver_cursor(conn) as cursor:
                queue_events, user_events = phase.events
                cursor.execute(self.sql.bind(queue_events, first, last))
                result.queue_rows = int(cursor.rowcount)
                cursor.execute(self.sql.bind(user_events, first, last))
                result.users = int(cursor.rowcount)
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.sql.events}")
                result.after = int(cursor.fetchone()[0])
        return result


def _session_settings(conn: Connection) -> None:
    """Room for the long JSON lists and the per-user folds (this session only)."""
    conn.exec_driver_sql("SET SESSION group_concat_max_len = 1073741824")
    conn.exec_driver_sql("SET SESSION tmp_table_size = 1073741824, max_heap_table_size = 1073741824")
    conn.commit()


class _Stager:
    """Writes each seeded range's staging rows, in order, on its own connection (the
    server works on the next range's events meanwhile): one transaction per range that
    inserts the rows the range's events project to and advances the staging projection
    from the position before the range to its last event, only if the projection stands
    exactly there; otherwise the projection runner applies those events later."""

    def __init__(self, engine: Engine, sql: SeedSql, counts: dict[str, int]) -> None:
        self.engine = engine
        self.sql = sql
        self.counts = counts
        self.jobs: queue.Queue[tuple[Phase, int, int, RangeResult] | None] = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="convtrack-stager", daemon=True)

    def __enter__(self) -> _Stager:
        self.thread.start()
        return self

    def submit(self, phase: Phase, first: int, last: int, result: RangeResult) -> None:
        self._raise()
        self.jobs.put((phase, first, last, result))

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.jobs.put(None)
        self.thread.join()
        if exc_type is None:
            self._raise()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            with self.engine.connect() as conn:
                _session_settings(conn)
                while (job := self.jobs.get()) is not None:
                    if self.error is None:
                        self._stage(conn, *job)
        except BaseException as error:  # handed to the seeder's thread
            self.error = error
            while self.jobs.get() is not None:
                pass

    def _stage(self, conn: Connection, phase: Phase, first: int, last: int, result: RangeResult) -> None:
        with conn.begin():
            if result.written == 0 or tracking.read_position(conn, STAGING) != result.before:
                self.counts["events left to the projection runner"] += result.written
                return
            try:
                with driver_cursor(conn) as cursor:
                    for statement in phase.staging:
                        cursor.execute(self.sql.bind(statement, first, last))
            except (IntegrityError, DataError) as error:  # as the runner reports it: exit 7, one line
                raise ProjectionFailed(
                    STAGING, result.before + 1, f"seed events of users {first}-{last}", error
                ) from error
            tracking.advance(conn, STAGING, result.before, result.after)
        self.counts["events projected by the server"] += result.written
