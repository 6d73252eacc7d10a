"""A cutover or rollback that died after its rename but before recording it is finished
by running the same command again (the name to use was recorded before the rename)."""

from __future__ import annotations

from sqlalchemy import text

from bootstrap.bootstrapper import Bootstrapper
from bootstrap.cutover import LOGICAL, cutover, rollback
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from bootstrap.sample_data import generate
from infrastructure.database import make_engine
from infrastructure.projections.swap import Move, swap_tables
from infrastructure.projections.tables import TableNames
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker


def test_a_cutover_and_a_rollback_killed_between_rename_and_record_finish_when_rerun(database_url: str) -> None:
    generate(make_engine(database_url), users=120, seed=5)
    tracker = open_tracker(Settings(database_url=database_url))
    source = LegacySource(database_url)
    checksums = {t: source.checksum(t) for t in MIGRATED_TABLES}
    bootstrapper = Bootstrapper(tracker, source)
    bootstrapper.run()
    engine = tracker.sql_recorder.engine

    # what `cutover` does up to its rename, then "dies"
    run = tracker.bootstrap_run()
    assert run is not None
    run.start_cutover("ct_legacy_crashed")
    tracker.save(run)
    live, legacy = TableNames.live(), TableNames.sibling(engine, "ct_legacy_crashed")
    staging = TableNames.staging(engine)
    swap_tables(engine, [Move(t, live, legacy) for t in MIGRATED_TABLES] + [Move(t, staging, live) for t in LOGICAL])

    finished = cutover(tracker, source)
    assert finished.legacy_label == "ct_legacy_crashed"
    run = tracker.bootstrap_run()
    assert run is not None and run.cut_over and run.cutover_position == finished.position
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM call_queue WHERE queue_type = 'callback'")).scalar() == 0

    # what `rollback` does up to its rename, then "dies"
    run.start_rollback("ct_rolledback_crashed")
    tracker.save(run)
    kept = TableNames.sibling(engine, "ct_rolledback_crashed")
    swap_tables(engine, [Move(t, live, kept) for t in LOGICAL] + [Move(t, legacy, live) for t in MIGRATED_TABLES])

    back = rollback(tracker, database_url)
    assert back.rolled_back_label == "ct_rolledback_crashed" and back.legacy_checksums_equal
    run = tracker.bootstrap_run()
    assert run is not None and not run.cut_over
    assert {t: LegacySource(database_url).checksum(t) for t in MIGRATED_TABLES} == checksums
