"""``convtrack bootstrap``: every legacy row becomes exactly one seed event, once.

Resumable: aggregate ids derive from legacy keys and the bootstrap time is fixed by the
first run's BootstrapRun.Started event, so a rerun after kill -9 skips what is stored
and writes exactly what an uninterrupted run would have written.

Two paths write the same events, chosen by ``seeders.choose_seeder``: the server path
(``server_seed``: the database builds them, when legacy and tracker share a MariaDB/MySQL
database) and the Python path (``python_seed``: the domain makes them from one consistent
snapshot, batched through the recorder). Then the run builds the staging tables from the
events (the projection runner: exactly once, resumable), and only then records the run as
completed, so a run killed while projecting resumes the projection on a rerun.

Before anything is created or written, ``plan_bootstrap`` refuses what would stop the run
(``preflight``) and says what the run will do: the dry run is just the plan.

After a rollback the same command takes up what the legacy app did since (``resync``):
the rows it changed, added or deleted become events, then the staging tables are built
and the run completed as the first time, so verify and cutover work again.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import distinct, func, select

from bootstrap import preflight
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from bootstrap.python_seed import PythonSeeder
from bootstrap.resync import Resync, preview, refuse_unless_resyncable
from bootstrap.seeders import PYTHON, Progress, Seeder, SeederChoice, choose_seeder
from bootstrap.server_seed import STAGING, ServerSeeder
from domain.bootstrap_run import BootstrapRun
from domain.call_queue_entry import CallQueueEntry
from domain.errors import OperationRefused
from domain.legacy_schema import LegacySchema
from domain.user_call_score import UserCallScore
from domain.values import utc_now
from infrastructure.application import ConversionTracker
from infrastructure.database import make_engine
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.projections.tables import ProjectionTables, TableNames, create_projection_tables

log = logging.getLogger("convtrack.bootstrap")

__all__ = ["STAGING", "BootstrapPlan", "Bootstrapper", "BootstrapReport", "ProgressBars", "plan_bootstrap"]


class ProgressBars(Protocol):
    """Opens one progress display per stage (e.g. the CLI's ``progress_bar``)."""

    def __call__(self, description: str, *, unit: str) -> AbstractContextManager[Progress]: ...


@contextmanager
def _no_bar(description: str, *, unit: str) -> Iterator[Progress]:
    yield lambda done, total: None


@dataclass
class BootstrapReport:
    resumed: bool = False
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    position: int = 0
    path: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # "seeding", "projecting"
    projected: int = 0  # events the staging projection applied


@dataclass(frozen=True)
class BootstrapPlan:
    """What the run will do, found without writing anything: the path (and why), whether
    it resumes an interrupted run, and what it will write (``would write …``)."""

    choice: SeederChoice
    resumed: bool
    counts: dict[str, int]
    resync: bool = False  # a bootstrap after a rollback (``resync``)
    note: str = ""


RESYNC_PATH = "a bootstrap after a rollback: the legacy app's writes become events"


def plan_bootstrap(
    tracker_url: str,
    source: LegacySource,
    run: BootstrapRun | None,
    *,
    in_server: bool = True,
    events: ConversionTracker | None = None,
) -> BootstrapPlan:
    """Refuse (exit 5) a completed bootstrap, missing legacy tables and anything the
    preflight finds, before anything is created or written; else say what the run will do.
    ``run`` is the stored BootstrapRun (None before the first bootstrap); ``events`` (the
    tracker, read-only will do) lets a bootstrap after a rollback preview its counts."""
    _refuse_if_completed(run)
    source.require_tables()
    if run is not None and (run.may_resync or run.resyncing):
        return _plan_resync(tracker_url, source, run, events)
    preflight.refuse_if_blocked(source, preflight.target_of(tracker_url, source))
    engine = make_engine(tracker_url, read_only=True)  # nothing connects: the URL decides
    try:
        choice = choose_seeder(engine, source, in_server=in_server)
    finally:
        engine.dispose()
    return BootstrapPlan(choice, run is not None, _would_write(source))


def _plan_resync(
    tracker_url: str, source: LegacySource, run: BootstrapRun, events: ConversionTracker | None
) -> BootstrapPlan:
    refuse_unless_resyncable(run, tracker_url, source)
    preflight.refuse_if_blocked(source, preflight.target_of(tracker_url, source))  # rows the legacy app added too
    counts = preview(events, source, run) if events is not None else None
    note = "" if counts is not None else "no preview of the counts: the tables the last rollback retired were dropped"
    choice = SeederChoice(PYTHON, RESYNC_PATH)
    return BootstrapPlan(choice, run.resyncing, counts or {}, resync=True, note=note)


def _would_write(source: LegacySource) -> dict[str, int]:
    scores, queue = source.table("user_call_scores"), source.table("call_queue")
    orphan_users = select(func.count(distinct(queue.c.user_id))).where(~queue.c.user_id.in_(select(scores.c.user_id)))
    with source.snapshot() as conn:
        score_rows = source.count(conn, "user_call_scores")
        queue_rows = source.count(conn, "call_queue")
        orphans = int(conn.execute(orphan_users).scalar() or 0)
    return {
        "score rows": score_rows,
        "queue rows": queue_rows,
        "users without a score row": orphans,
        f"would write {CallQueueEntry.__name__} events": queue_rows,
        f"would write {UserCallScore.__name__} events": score_rows + orphans,
        f"would write {BootstrapRun.__name__} and {LegacySchema.__name__} events": 3,
    }


def _refuse_if_completed(run: BootstrapRun | None) -> None:
    if run is not None and run.completed and not run.may_resync:
        raise OperationRefused(
            "the bootstrap already completed (it runs once); nothing was changed. "
            "Next: `convtrack verify`, then `convtrack cutover`"
        )


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

    def plan(self) -> BootstrapPlan:
        url = self.recorder.engine.url.render_as_string(hide_password=False)
        run = self.tracker.bootstrap_run()
        return plan_bootstrap(url, self.source, run, in_server=self.in_server, events=self.tracker)

    def run(
        self,
        *,
        plan: BootstrapPlan | None = None,
        progress_bars: ProgressBars | None = None,
        checkpoint: Callable[[str], None] = lambda _point: None,
    ) -> BootstrapReport:
        """The whole bootstrap: one seed event per legacy row (resuming an interrupted run),
        the staging tables built from the events, then the run recorded as completed: a
        run killed anywhere before that resumes on a rerun. ``plan`` (``plan_bootstrap``,
        made before the tracker's tables were created) is made here when not given. After a
        rollback: the legacy app's writes become events instead (``resync``); ``checkpoint``
        is called after each of its batches."""
        bars = progress_bars or _no_bar
        plan = plan or self.plan()
        report = BootstrapReport(resumed=plan.resumed, path=plan.choice.describe())
        started = time.perf_counter()
        if plan.resync:
            log.info("bootstrap: taking up what the legacy app wrote since the rollback")
            run = self._resync(report, checkpoint)
        else:
            run = self._start()
            total = sum(int(run.legacy_counts.get(name, 0)) for name in MIGRATED_TABLES)
            seeder = self._seeder(plan.choice, run)
            log.info(
                "bootstrap: %s %s legacy rows by the %s", "resuming;" if plan.resumed else "seeding", total, report.path
            )
            with bars("seeding events", unit="rows") as progress:
                seeder.seed(report.counts, progress, total)
            seeder.confirm_legacy_unchanged()
        seeded = time.perf_counter()
        with bars("projecting staging tables", unit="events") as progress:
            report.projected = self._project_staging(progress)
        run.complete({k: int(v) for k, v in report.counts.items()})
        self.tracker.save(run)
        report.position = self.recorder.max_notification_id() or 0
        report.seconds = {"seeding": seeded - started, "projecting": time.perf_counter() - seeded}
        log.info("bootstrap: completed at event position %d", report.position)
        return report

    def _resync(self, report: BootstrapReport, checkpoint: Callable[[str], None]) -> BootstrapRun:
        run = self.tracker.bootstrap_run()
        assert run is not None
        url = self.recorder.engine.url.render_as_string(hide_password=False)
        refuse_unless_resyncable(run, url, self.source)
        resync = Resync(self.tracker, self.source, batch_size=self.batch_size, checkpoint=checkpoint)
        run = resync.begin(run)
        resync.take_up(run, report.counts)
        return run

    def _start(self) -> BootstrapRun:
        """The stored run (resumed), or a new one: its bootstrap time, the legacy checksums
        and counts, and the legacy schema. Refuses a completed run."""
        run = self.tracker.bootstrap_run()
        _refuse_if_completed(run)
        if run is not None:
            return run
        checksums = {name: self.source.checksum(name) for name in MIGRATED_TABLES}
        with self.source.snapshot() as conn:
            counts = {name: self.source.count(conn, name) for name in MIGRATED_TABLES}
        run = BootstrapRun.start(bootstrap_time=utc_now(), legacy_checksums=checksums, legacy_counts=counts)
        self.tracker.save(capture_schema(self.source), run)
        return run

    def _seeder(self, choice: SeederChoice, run: BootstrapRun) -> Seeder:
        if choice.in_server:
            staging = self._staging_tables()
            return ServerSeeder(self.tracker, self.source, run, staging, batch_size=self.batch_size)
        return PythonSeeder(self.tracker, self.source, run, batch_size=self.batch_size)

    def _project_staging(self, progress: Progress | None = None) -> int:
        """Build the staging tables from the events (exactly once, resumable)."""
        runner = ProjectionRunner(self.tracker, self._staging_tables(), STAGING)
        return runner.run_once(progress=progress)

    def _staging_tables(self) -> ProjectionTables:
        engine = self.recorder.engine
        return create_projection_tables(engine, TableNames.staging(engine), self.tracker.legacy_schema())
