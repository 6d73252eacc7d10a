"""``convtrack bootstrap``: every legacy row becomes exactly one seed event, once.

Resumable: aggregate ids derive from legacy keys and the bootstrap time is fixed by the
first run's BootstrapRun.Started event, so a rerun after kill -9 skips what is stored
and writes exactly what an uninterrupted run would have written.

Two paths write the same events, chosen by ``seeders.choose_seeder``: the server path
(``server_seed``: the database builds them, when legacy and tracker share a MariaDB/MySQL
database) and the Python path (``python_seed``: the domain makes them from one consistent
snapshot, batched through the recorder). Then the run builds the staging tables from the
events (the projection runner: exactly once, resumable).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from bootstrap.python_seed import PythonSeeder
from bootstrap.seeders import Progress, Seeder, SeederChoice, choose_seeder
from bootstrap.server_seed import STAGING, ServerSeeder
from domain.bootstrap_run import BootstrapRun
from domain.errors import OperationRefused
from domain.legacy_schema import LegacySchema
from domain.values import utc_now
from infrastructure.application import ConversionTracker
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.projections.tables import ProjectionTables, TableNames, create_projection_tables

__all__ = ["STAGING", "Bootstrapper", "BootstrapReport", "ProgressBars"]


class ProgressBars(Protocol):
    """Opens one progress display per stage (e.g. the CLI's ``progress_bar``)."""

    def __call__(self, description: str, *, unit: str) -> AbstractContextManager[Progress]: ...


@contextmanager
def _no_bar(description: str, *, unit: str) -> Iterator[Progress]:
    yield lambda done, total: None


@dataclass
class BootstrapReport:
    dry_run: bool
    resumed: bool = False
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    position: int = 0
    path: str = ""
    seconds: dict[str, float] = field(default_factory=dict)  # "seeding", "projecting"
    projected: int = 0  # events the staging projection applied


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

    def run(self, *, dry_run: bool = False, progress_bars: ProgressBars | None = None) -> BootstrapReport:
        """The whole bootstrap: one seed event per legacy row (resuming an interrupted run),
        the run recorded as completed, then the staging tables built from the events.
        A dry run writes nothing and counts what it would write."""
        bars = progress_bars or _no_bar
        run, resumed = self._start(dry_run)
        report = BootstrapReport(dry_run=dry_run, resumed=resumed)
        choice = choose_seeder(self.recorder.engine, self.source, dry_run=dry_run, in_server=self.in_server)
        report.path = choice.describe()
        total = sum(int(run.legacy_counts.get(name, 0)) for name in MIGRATED_TABLES)
        started = time.perf_counter()
        seeder = self._seeder(choice, run, dry_run)
        with bars("seeding events" if not dry_run else "dry run", unit="rows") as progress:
            seeder.seed(report.counts, progress, total)
        if dry_run:
            return report
        seeder.confirm_legacy_unchanged()
        run.complete({k: int(v) for k, v in report.counts.items()})
        self.tracker.save(run)
        report.position = self.recorder.max_notification_id() or 0
        seeded = time.perf_counter()
        with bars("projecting staging tables", unit="events") as progress:
            report.projected = self._project_staging(progress)
        report.seconds = {"seeding": seeded - started, "projecting": time.perf_counter() - seeded}
        return report

    def _start(self, dry_run: bool) -> tuple[BootstrapRun, bool]:
        """The stored run (resumed), or a new one: its bootstrap time, the legacy checksums
        and counts, and the legacy schema, saved unless a dry run. Refuses a completed run."""
        run = self.tracker.bootstrap_run()
        if run is not None and run.completed:
            raise OperationRefused(
                "the bootstrap already completed (it runs once); nothing was changed. "
                "Next: `convtrack verify`, then `convtrack cutover`"
            )
        self.source.require_tables()
        if run is not None:
            return run, True
        checksums = {name: self.source.checksum(name) for name in MIGRATED_TABLES}
        with self.source.snapshot() as conn:
            counts = {name: self.source.count(conn, name) for name in MIGRATED_TABLES}
        run = BootstrapRun.start(bootstrap_time=utc_now(), legacy_checksums=checksums, legacy_counts=counts)
        if not dry_run:
            self.tracker.save(capture_schema(self.source), run)
        return run, False

    def _seeder(self, choice: SeederChoice, run: BootstrapRun, dry_run: bool) -> Seeder:
        if choice.in_server:
            staging = self._staging_tables()
            return ServerSeeder(self.tracker, self.source, run, staging, batch_size=self.batch_size)
        return PythonSeeder(self.tracker, self.source, run, batch_size=self.batch_size, dry_run=dry_run)

    def _project_staging(self, progress: Progress | None = None) -> int:
        """Build the staging tables from the events (exactly once, resumable)."""
        runner = ProjectionRunner(self.tracker, self._staging_tables(), STAGING)
        return runner.run_once(progress=progress)

    def _staging_tables(self) -> ProjectionTables:
        engine = self.recorder.engine
        return create_projection_tables(engine, TableNames.staging(engine), self.tracker.legacy_schema())
