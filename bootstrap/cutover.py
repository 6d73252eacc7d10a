"""``convtrack cutover`` and ``rollback`` (``export`` is in ``bootstrap.export``).

Cutover refuses unless verify passes now and the legacy tables are unchanged since the
bootstrap's snapshot (checksums). Then one atomic rename moves the legacy tables to a
kept name (a sibling database ``<db>_ct_legacy_<stamp>_<n>`` on MariaDB, a prefix on
SQLite) and the staging tables to the live names. Rollback first writes everything
recorded since cutover into the kept legacy tables in the legacy shape
(``legacy_writeback``; rows nothing touched are not written, and the kept copy's
checksums are compared with the snapshot before it), then swaps back just as atomically;
the tracker's tables are kept as ``ct_rolledback_<stamp>_<n>`` and the event log keeps
everything. Both refuse before anything moves when what they would move is missing.

The labels derive from the bootstrap run (its time, the legacy snapshot's, and the
cutover's ordinal), so a dry run names exactly what the real run will use. Each command
records its label before its rename (``CutoverStarted``/``RollbackStarted``) and finds out
on a rerun whether the rename happened, so one killed at any point (kill -9) is finished
by running it again, with the same result as an uninterrupted run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from bootstrap.bootstrapper import STAGING
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource, table_checksum
from bootstrap.legacy_writeback import write_back, writeback_position
from bootstrap.preflight import refuse_if_triggers
from bootstrap.reports import SignOff, verify_report_data
from bootstrap.verify import VerifyReport, staging_tables, verify
from domain.bootstrap_run import BootstrapRun
from domain.errors import OperationRefused
from domain.lifecycle import phase_of, require
from infrastructure.application import ConversionTracker
from infrastructure.database import database_identity, is_sqlite, write_transaction
from infrastructure.projections import copies, tracking
from infrastructure.projections.labels import Kind, make_label
from infrastructure.projections.names import LIVE
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.projections.swap import Move, swap_tables, table_exists
from infrastructure.projections.tables import TableNames, quote_sqlite

LOGICAL = ("user_call_scores", "call_queue", "conversions")
CUTOVER_HOLDER = "cutover"
ROLLBACK_HOLDER = "rolled-back"
log = logging.getLogger("convtrack.cutover")
CHECKPOINTS = ("before-record", "after-record", "after-writeback-batch", "after-rename")


def _carry_on(_point: str) -> None:
    return None


@dataclass
class Operation:
    """What a cutover or rollback fills in as it goes (its sign-off report, if any) and
    where it may be stopped for a test (``checkpoint`` is called at each of CHECKPOINTS)."""

    signoff: SignOff | None = None
    checkpoint: Callable[[str], None] = _carry_on

    def note(self, **values: Any) -> None:
        if self.signoff is not None:
            self.signoff.details.update(values)

    def finish(self, outcome: str, *, ok: bool) -> None:
        if self.signoff is not None:
            self.signoff.finish(outcome, ok=ok)

    def checksums(self, moment: str, values: dict[str, str]) -> None:
        if self.signoff is not None:
            self.signoff.legacy_checksums[moment] = values


@dataclass(frozen=True)
class CutoverResult:
    position: int
    legacy_label: str
    verify: VerifyReport
    resumed: bool = False  # the rename had happened: only its record was missing


def _require_run(tracker: ConversionTracker) -> BootstrapRun:
    run = tracker.bootstrap_run()
    if run is None or not run.completed:
        raise OperationRefused("no completed bootstrap: run `convtrack bootstrap` first")
    return run


def _cycle(run: BootstrapRun) -> int:
    """The ordinal of the run's next cutover (1 for the first)."""
    return 1 + sum(1 for entry in run.history if "cutover" in entry)


def legacy_label(run: BootstrapRun) -> str:
    """Where this run's cutover keeps the legacy tables: the recorded name of an interrupted
    one, else ``ct_legacy_<bootstrap time>_<cutover ordinal>``."""
    if run.cutover_pending is not None:
        return run.cutover_pending
    if run.bootstrap_time is None:
        raise OperationRefused("the bootstrap run has no bootstrap time: run `convtrack bootstrap` first")
    return make_label(Kind.LEGACY, run.bootstrap_time, str(_cycle(run)))


def rolled_back_label(run: BootstrapRun) -> str:
    """Where this run's rollback keeps the tracker's tables (the ordinal of the cutover it undoes)."""
    if run.rollback_pending is not None:
        return run.rollback_pending
    if run.bootstrap_time is None:
        raise OperationRefused("the bootstrap run has no bootstrap time")
    return make_label(Kind.ROLLED_BACK, run.bootstrap_time, str(_cycle(run) - 1))


def legacy_checksums(source: LegacySource) -> dict[str, str]:
    return {name: source.checksum(name) for name in MIGRATED_TABLES}


def kept_checksums(engine: Engine, names: TableNames) -> dict[str, str]:
    """The checksums of the legacy tables kept under ``names`` (those present)."""
    found: dict[str, str] = {}
    for logical in MIGRATED_TABLES:
        if table_exists(engine, names, logical):
            quoted = quote_sqlite(names.all()[logical]) if is_sqlite(engine) else names.qualified(logical)
            found[logical] = table_checksum(engine, quoted)
    return found


def cutover(
    tracker: ConversionTracker, source: LegacySource, *, dry_run: bool = False, operation: Operation | None = None
) -> CutoverResult:
    """The dry run checks everything and returns the label the real run will use; it
    writes nothing (give it a tracker on a read-only engine to be sure)."""
    op = operation or Operation()
    run = _require_run(tracker)
    if run.cut_over:
        raise OperationRefused(f"already cut over; the legacy tables are kept as {run.legacy_label}")
    require("cutover", phase_of(run))
    engine = tracker.sql_recorder.engine
    label = legacy_label(run)
    op.checksums("snapshot", dict(run.legacy_checksums))
    if run.cutover_pending is not None and _swapped_in(engine):  # the rename happened; its record did not
        if dry_run:
            return CutoverResult(tracker.head_position(), label, VerifyReport(), resumed=True)
        return _finish_cutover(tracker, run, label, source, op)
    report = _cutover_checks(tracker, source, run, label, op)
    if dry_run:
        return CutoverResult(tracker.head_position(), label, report)
    log.info("cutover: checks passed; swapping the tables in (legacy tables to be kept as %s)", label)
    if run.cutover_pending is None:
        op.checkpoint("before-record")
        run.start_cutover(label)
        tracker.save(run)
    op.checkpoint("after-record")
    try:
        _swap_in(tracker, label)
        op.checkpoint("after-rename")
        log.info("cutover: the tracker's tables are live; recording the cutover")
        result = _finish_cutover(tracker, run, label, source, op)
        log.info("cutover: done at event position %d", result.position)
    finally:
        tracking.release_lease(engine, LIVE, CUTOVER_HOLDER)
    return CutoverResult(result.position, label, report)


def _cutover_checks(
    tracker: ConversionTracker, source: LegacySource, run: BootstrapRun, label: str, op: Operation
) -> VerifyReport:
    """Refuse unless the legacy tables carry no trigger (RENAME TABLE refuses to move a
    table with one into another database) and are unchanged, the kept name is free and
    verify passes."""
    refuse_if_triggers(source.engine)
    before = legacy_checksums(source)
    op.checksums("before", before)
    changed = [name for name in MIGRATED_TABLES if before[name] != run.legacy_checksums.get(name)]
    if changed:
        again = (  # a later cycle takes such writes up; the first bootstrap runs once
            "run `convtrack bootstrap` again to take them up"
            if run.cycle > 1
            else "Start again from a fresh tracker store"
        )
        raise OperationRefused(
            f"legacy tables changed since the bootstrap snapshot: {', '.join(changed)}; "
            f"the migration would miss those changes. {again}"
        )
    engine = tracker.sql_recorder.engine
    taken = [t for t in LOGICAL if table_exists(engine, TableNames.sibling(engine, label), t)]
    if taken:
        raise OperationRefused(f"the name for the kept legacy tables, {label}, already holds {', '.join(taken)}")
    report = verify(tracker, source)
    if op.signoff is not None:
        op.signoff.compared = dict(report.compared)
    op.note(verify=verify_report_data(report))
    if not report.ok:
        raise OperationRefused(
            f"verify fails ({report.mismatch_count} mismatches, "
            f"{sum(not c.ok for c in report.checks)} failed checks); run `convtrack verify` for the report"
        )
    return report


def _swap_in(tracker: ConversionTracker, label: str) -> None:
    """Bring staging to the head, then one atomic rename: legacy tables out, staging in."""
    engine = tracker.sql_recorder.engine
    staging = staging_tables(tracker)
    tracking.create_tracking_tables(engine)
    tracking.ensure_tracking_row(engine, LIVE)
    tracking.steal_lease(engine, LIVE, CUTOVER_HOLDER, ttl_seconds=300)
    ProjectionRunner(tracker, staging, STAGING).run_once()
    live, legacy = TableNames.live(), TableNames.sibling(engine, label)
    moves = [Move(t, live, legacy) for t in LOGICAL if table_exists(engine, live, t)]
    moves += [Move(t, staging.names, live) for t in LOGICAL]
    swap_tables(engine, moves)


def _swapped_in(engine: Engine) -> bool:
    """The staging tables are gone and the live names hold the tracker's tables."""
    staging = TableNames.staging(engine)
    return not table_exists(engine, staging, "user_call_scores") and table_exists(
        engine, TableNames.live(), "conversions"
    )


def _finish_cutover(
    tracker: ConversionTracker, run: BootstrapRun, label: str, source: LegacySource, op: Operation
) -> CutoverResult:
    engine = tracker.sql_recorder.engine
    copies.isolate(engine, TableNames.sibling(engine, label))  # the kept copy no longer names live tables
    with engine.connect() as conn:
        position = tracking.read_position(conn, STAGING)
    with write_transaction(engine) as conn:
        tracking.set_position(conn, LIVE, position)
    run.record_cutover(position, label)
    tracker.save(run)
    tracking.release_lease(engine, LIVE, CUTOVER_HOLDER)
    kept = kept_checksums(engine, TableNames.sibling(engine, label))
    op.checksums("after", kept or legacy_checksums(source))  # none kept: the legacy tables live elsewhere
    op.note(legacy_label=label, position=position)
    return CutoverResult(position, label, VerifyReport(), resumed=True)


@dataclass(frozen=True)
class RollbackResult:
    """``legacy_checksums_equal``: the legacy rows nothing touched since cutover are as at
    the bootstrap's snapshot (the kept copy's checksums before the write-back; None when
    an interrupted run had begun it and checked then). ``written``: legacy rows written
    back per table by this run."""

    position: int
    rolled_back_label: str
    legacy_checksums_equal: bool | None
    written: dict[str, int] = field(default_factory=dict)


def rollback(
    tracker: ConversionTracker, source_url: str, *, dry_run: bool = False, operation: Operation | None = None
) -> RollbackResult:
    """``position``: the position of the rollback's own first record (``RollbackStarted``);
    everything before it was recorded while the tracker's tables were live."""
    op = operation or Operation()
    run = _require_run(tracker)
    if not run.cut_over or run.legacy_label is None:
        raise OperationRefused("nothing to roll back: the tracker's tables are not live")
    engine = tracker.sql_recorder.engine
    label = rolled_back_label(run)
    live, retired = TableNames.live(), TableNames.sibling(engine, label)
    legacy = TableNames.sibling(engine, run.legacy_label)
    op.checksums("snapshot", dict(run.legacy_checksums))
    renamed = run.rollback_pending is not None and table_exists(engine, retired, "conversions")
    kept, before = ([], {}) if renamed else _kept_legacy(engine, legacy, source_url, run.legacy_label, op)
    if dry_run:
        return RollbackResult(tracker.head_position(), label, True)
    log.info("rollback: started; the tracker's tables are to be kept as %s", label)
    if run.rollback_pending is None:
        op.checkpoint("before-record")
        run.start_rollback(label)
        tracker.save(run)
    op.checkpoint("after-record")
    tracking.steal_lease(engine, LIVE, ROLLBACK_HOLDER, ttl_seconds=10 * 365 * 86400)  # followers stop for good
    untouched: bool | None = None
    written: dict[str, int] = {}
    if not renamed:
        untouched, written = _write_back(tracker, run, legacy if kept else None, before, op)
        moves = [Move(t, live, retired) for t in LOGICAL if table_exists(engine, live, t)]
        moves += [Move(t, legacy, live) for t in kept]  # none when the legacy tables live in another database
        log.info("rollback: written back to the kept legacy tables: %s; swapping them in", written or "nothing")
        swap_tables(engine, moves)
        op.checkpoint("after-rename")
    copies.restore(engine, legacy, live)  # the legacy tables' keys, exactly as they were (rerun: no-op)
    copies.isolate(engine, retired)
    position = _position_of_latest_event(tracker, run)
    run.record_rollback(position, label)
    tracker.save(run)
    equal = _restored_as_snapshot(run, source_url, op)
    op.note(rolled_back_label=label, position=position, legacy_label=run.legacy_label)
    log.info("rollback: done at event position %d; the legacy tables are live", position)
    elsewhere = not renamed and not kept  # the legacy tables live in another database: nothing was written
    return RollbackResult(position, label, equal if elsewhere else _untouched(untouched, equal), written)


def _untouched(checked: bool | None, equal_after: bool) -> bool | None:
    """The kept copy's check before the write-back, when this run made it; else equal
    checksums after (nothing was written back) prove it, and unequal ones prove nothing
    (rows written back change them)."""
    if checked is not None:
        return checked
    return True if equal_after else None


def _kept_legacy(
    engine: Engine, legacy: TableNames, source_url: str, label: str, op: Operation
) -> tuple[list[str], dict[str, str]]:
    """The kept legacy tables to move back and their checksums. Refuses, before anything
    moves, unless all are kept, or none is because the legacy tables live in another
    database (and are there)."""
    kept = [t for t in MIGRATED_TABLES if table_exists(engine, legacy, t)]
    if len(kept) == len(MIGRATED_TABLES):
        before = kept_checksums(engine, legacy)
        op.checksums("before", before)
        return kept, before
    if not kept and database_identity(source_url) != database_identity(engine.url):
        source = LegacySource(source_url)
        try:
            source.require_tables()
            before = legacy_checksums(source)
            op.checksums("before", before)
        finally:
            source.close()
        return kept, before
    missing = ", ".join(t for t in MIGRATED_TABLES if t not in kept)
    where = f"database {legacy.schema}" if legacy.schema else f"tables {label}_*"
    raise OperationRefused(
        f"the kept legacy tables are missing ({missing} not in {where}); nothing was moved: "
        "the tracker's tables stay live. Restore the kept tables (or your backup) first"
    )


def _write_back(
    tracker: ConversionTracker, run: BootstrapRun, legacy: TableNames | None, before: dict[str, str], op: Operation
) -> tuple[bool | None, dict[str, int]]:
    """Bring the kept legacy tables up to date (``legacy_writeback``); whether their rows
    were as at the snapshot before it began (None: an interrupted run had begun it). Legacy
    tables living in another database are not kept here and are not written."""
    if legacy is None:
        op.note(writeback={"skipped": "the legacy tables live in another database; nothing written back"})
        return None, {}
    since = run.cutover_position or 0
    begun = writeback_position(tracker.sql_recorder.engine) > since
    stats = write_back(tracker, legacy, since, op.checkpoint)
    op.note(writeback={"events": stats.events, "rows": stats.rows, "from": stats.start, "to": stats.end})
    untouched = None if begun else all(before.get(t) == run.legacy_checksums.get(t) for t in MIGRATED_TABLES)
    return untouched, stats.rows


def _position_of_latest_event(tracker: ConversionTracker, run: BootstrapRun) -> int:
    """The notification position of the run's latest event (the same on a rerun)."""
    events = tracker.sql_recorder.events
    with tracker.sql_recorder.engine.connect() as conn:
        found = conn.execute(
            select(events.c.id).where(
                events.c.originator_id == run.id.bytes, events.c.originator_version == run.version
            )
        ).scalar()
    return int(found or tracker.head_position())


def _restored_as_snapshot(run: BootstrapRun, source_url: str, op: Operation) -> bool:
    """Whether the live legacy tables equal the bootstrap's snapshot (checksums)."""
    source = LegacySource(source_url)
    try:
        after = legacy_checksums(source)
        with source.engine.connect() as conn:
            compared = {t: {"rows": source.count(conn, t), "columns": len(source.table(t).columns)} for t in after}
    finally:
        source.close()
    op.checksums("after", after)
    if op.signoff is not None:
        op.signoff.compared = compared
    return all(after[name] == run.legacy_checksums.get(name) for name in MIGRATED_TABLES)
