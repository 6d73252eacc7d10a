"""``convtrack cutover``, ``rollback`` and ``export``.

Cutover refuses unless verify passes now and the legacy tables are unchanged since the
bootstrap's snapshot (checksums). Then one atomic rename moves the legacy tables to a
dated name (a sibling database ``<db>_ct_legacy_<stamp>`` on MariaDB, a prefix on SQLite)
and the staging tables to the live names. Rollback swaps back just as atomically: the
legacy tables return untouched (their checksums are re-checked), the tracker's tables
are kept under a dated name, and the event log keeps everything recorded meanwhile.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventsourcing.utils import get_topic
from sqlalchemy import Engine

from bootstrap.bootstrapper import STAGING
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource, changed_legacy_tables
from bootstrap.reports import _default
from bootstrap.verify import VerifyReport, staging_tables, verify
from domain.bootstrap_run import BootstrapRun
from domain.conversion import Conversion
from domain.errors import OperationRefused
from infrastructure.application import ConversionTracker
from infrastructure.database import write_transaction
from infrastructure.projections import tracking
from infrastructure.projections.names import LIVE
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.projections.swap import Move, swap_tables, table_exists
from infrastructure.projections.tables import TableNames

LOGICAL = ("user_call_scores", "call_queue", "conversions")
ROLLBACK_HOLDER = "rolled-back"


@dataclass(frozen=True)
class CutoverResult:
    position: int
    legacy_label: str
    verify: VerifyReport


def _stamp() -> str:
    return f"{datetime.now(UTC):%Y%m%d%H%M%S}_{uuid.uuid4().hex[:4]}"


def _require_run(tracker: ConversionTracker) -> BootstrapRun:
    run = tracker.bootstrap_run()
    if run is None or not run.completed:
        raise OperationRefused("no completed bootstrap: run `convtrack bootstrap` first")
    return run


def cutover(tracker: ConversionTracker, source: LegacySource, *, dry_run: bool = False) -> CutoverResult:
    run = _require_run(tracker)
    if run.cut_over:
        raise OperationRefused(f"already cut over; the legacy tables are kept as {run.legacy_label}")
    engine = tracker.sql_recorder.engine
    if run.cutover_pending and not dry_run and _swapped_in(engine):
        return _finish_cutover(tracker, run, run.cutover_pending)  # the rename happened; its record did not
    changed = changed_legacy_tables(run, source)
    if changed:
        raise OperationRefused(
            f"legacy tables changed since the bootstrap snapshot: {', '.join(changed)}; "
            "the migration would miss those changes. Start again from a fresh tracker store"
        )
    report = verify(tracker, source)
    if not report.ok:
        raise OperationRefused(
            f"verify fails ({report.mismatch_count} mismatches, "
            f"{sum(not c.ok for c in report.checks)} failed checks); run `convtrack verify` for the report"
        )
    staging = staging_tables(tracker)
    label = run.cutover_pending or f"ct_legacy_{_stamp()}"
    if dry_run:
        return CutoverResult(tracker.head_position(), label, report)
    if run.cutover_pending is None:
        run.start_cutover(label)
        tracker.save(run)
    holder = f"cutover-{uuid.uuid4().hex[:8]}"
    tracking.create_tracking_tables(engine)
    tracking.ensure_tracking_row(engine, LIVE)
    tracking.steal_lease(engine, LIVE, holder, ttl_seconds=300)
    try:
        ProjectionRunner(tracker, staging, STAGING).run_once()
        live, legacy = TableNames.live(), TableNames.sibling(engine, label)
        moves = [Move(t, live, legacy) for t in LOGICAL if table_exists(engine, live, t)]
        moves += [Move(t, staging.names, live) for t in LOGICAL]
        swap_tables(engine, moves)
        result = _finish_cutover(tracker, run, label)
    finally:
        tracking.release_lease(engine, LIVE, holder)
    return CutoverResult(result.position, label, report)


def _swapped_in(engine: Engine) -> bool:
    """The staging tables are gone and the live names hold the tracker's tables."""
    staging = TableNames.staging(engine)
    return not table_exists(engine, staging, "user_call_scores") and table_exists(
        engine, TableNames.live(), "conversions"
    )


def _finish_cutover(tracker: ConversionTracker, run: BootstrapRun, label: str) -> CutoverResult:
    engine = tracker.sql_recorder.engine
    with engine.connect() as conn:
        position = tracking.read_position(conn, STAGING)
    with write_transaction(engine) as conn:
        tracking.set_position(conn, LIVE, position)
    run.record_cutover(position, label)
    tracker.save(run)
    return CutoverResult(position, label, VerifyReport())


@dataclass(frozen=True)
class RollbackResult:
    position: int
    rolled_back_label: str
    legacy_checksums_equal: bool


def rollback(tracker: ConversionTracker, source_url: str) -> RollbackResult:
    run = _require_run(tracker)
    if not run.cut_over or run.legacy_label is None:
        raise OperationRefused("nothing to roll back: the tracker's tables are not live")
    engine = tracker.sql_recorder.engine
    label = run.rollback_pending or f"ct_rolledback_{_stamp()}"
    live, retired = TableNames.live(), TableNames.sibling(engine, label)
    tracking.steal_lease(engine, LIVE, ROLLBACK_HOLDER, ttl_seconds=10 * 365 * 86400)
    position = tracker.head_position()
    if not (run.rollback_pending and table_exists(engine, retired, "conversions")):  # else: renamed, not recorded
        legacy = TableNames.sibling(engine, run.legacy_label)
        kept = [t for t in MIGRATED_TABLES if table_exists(engine, legacy, t)]
        separate = source_url != engine.url.render_as_string(hide_password=False)
        if len(kept) != len(MIGRATED_TABLES) and not (separate and not kept):
            raise OperationRefused(f"the kept legacy tables are missing ({run.legacy_label}); cannot roll back")
        if run.rollback_pending is None:
            run.start_rollback(label)
            tracker.save(run)
        moves = [Move(t, live, retired) for t in LOGICAL if table_exists(engine, live, t)]
        moves += [Move(t, legacy, live) for t in kept]  # none when the legacy tables live in another database
        swap_tables(engine, moves)
    run.record_rollback(position, label)
    tracker.save(run)
    source = LegacySource(source_url)
    try:
        equal = not changed_legacy_tables(run, source)
    finally:
        source.close()
    return RollbackResult(position, label, equal)


def export_conversions(tracker: ConversionTracker, path: Path) -> int:
    """Write every conversion event recorded since the (last) cutover as JSON lines."""
    run = _require_run(tracker)
    start = run.cutover_position
    if start is None:
        raise OperationRefused("there was no cutover: nothing was recorded by the tracker's services")
    topics = [get_topic(Conversion.Recorded), get_topic(Conversion.Reversed)]
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        position = start
        while True:
            batch = tracker.sql_recorder.select_notifications(position, 1000, topics=topics, inclusive_of_start=False)
            if not batch:
                break
            for notification in batch:
                event = tracker.mapper.to_domain_event(notification)
                record: dict[str, Any] = {
                    "position": notification.id,
                    "event": type(event).__name__,
                    "recorded_at": event.timestamp,
                }
                record.update(
                    {"row": event.row}
                    if hasattr(event, "row")
                    else {"conversion_id": event.row_id, "reason": event.reason}
                )  # type: ignore[attr-defined]
                out.write(json.dumps(record, default=_default, ensure_ascii=False) + "\n")
                written += 1
            position = batch[-1].id
    return written
