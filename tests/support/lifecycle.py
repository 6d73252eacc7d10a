"""Bring a test database to a phase of the lifecycle the way an operator would, in
process: a small generated legacy database, then bootstrap, cutover, rollback."""

from __future__ import annotations

from sqlalchemy import inspect

from bootstrap.bootstrapper import Bootstrapper, capture_schema
from bootstrap.cutover import cutover, rollback
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from bootstrap.sample_data import generate
from domain.bootstrap_run import BootstrapRun
from domain.lifecycle import Phase
from domain.values import utc_now
from infrastructure.application import ConversionTracker
from infrastructure.database import make_engine
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker, read_lifecycle


def bring_to(database_url: str, phase: Phase, *, users: int = 40, seed: int = 3) -> None:
    """``database_url`` ends in ``phase``, with legacy tables generated first when the
    database has none (``users`` users with their scores, queue rows, sessions and agents
    1-12). ``bootstrapping`` is a bootstrap interrupted right after it recorded its start
    (its snapshot and the legacy schema), before the first seed event."""
    engine = make_engine(database_url)
    if not inspect(engine).has_table("user_call_scores"):
        generate(engine, users=users, seed=seed)
    engine.dispose()
    if phase is not Phase.NOT_BOOTSTRAPPED:
        _bootstrap_and_swap(database_url, phase)
    assert read_lifecycle(Settings(database_url=database_url)).phase is phase


def _bootstrap_and_swap(database_url: str, phase: Phase) -> None:
    source = LegacySource(database_url)
    tracker = open_tracker(Settings(database_url=database_url))
    try:
        if phase is Phase.BOOTSTRAPPING:
            _record_start(tracker, source)
            return
        Bootstrapper(tracker, source).run()
        if phase in (Phase.CUT_OVER, Phase.ROLLED_BACK):
            cutover(tracker, source)
        if phase is Phase.ROLLED_BACK:
            rollback(tracker, database_url)
    finally:
        source.close()
        tracker.sql_recorder.close()


def _record_start(tracker: ConversionTracker, source: LegacySource) -> None:
    """What ``Bootstrapper.run`` saves before it seeds (a rerun resumes from it)."""
    checksums = {name: source.checksum(name) for name in MIGRATED_TABLES}
    with source.snapshot() as conn:
        counts = {name: source.count(conn, name) for name in MIGRATED_TABLES}
    run = BootstrapRun.start(bootstrap_time=utc_now(), legacy_checksums=checksums, legacy_counts=counts)
    tracker.save(capture_schema(source), run)


def record_phase(database_url: str, phase: Phase) -> ConversionTracker:
    """Only the lifecycle's record, for tests of what the phase merely gates (the
    projections, followers, rebuilds): the BootstrapRun events that put the store in
    ``phase``, and nothing else (no legacy tables, no staging, no swap). For a store with
    no legacy data the live tables are the tracker's own, as they are after a cutover."""
    tracker = open_tracker(Settings(database_url=database_url))
    if phase is Phase.NOT_BOOTSTRAPPED:
        return tracker
    run = BootstrapRun.start(bootstrap_time=utc_now(), legacy_checksums={}, legacy_counts={})
    if phase is not Phase.BOOTSTRAPPING:
        run.complete({})
    if phase in (Phase.CUT_OVER, Phase.ROLLED_BACK):
        run.start_cutover("ct_legacy_none")
        run.record_cutover(tracker.head_position(), "ct_legacy_none")
    if phase is Phase.ROLLED_BACK:
        run.start_rollback("ct_rolledback_none")
        run.record_rollback(tracker.head_position(), "ct_rolledback_none")
    tracker.save(run)
    assert read_lifecycle(Settings(database_url=database_url)).phase is phase
    return tracker
