"""A rollback brings the legacy tables back carrying everything recorded since cutover in
the legacy shape; rows nothing touched come back byte for byte, the DDL as it was; a
rollback stopped after a write-back batch finishes the same when run again."""

from __future__ import annotations

import pytest

from bootstrap import legacy_writeback
from bootstrap.cutover import Operation, rollback
from infrastructure.database import make_engine
from infrastructure.projections import tracking
from infrastructure.projections.names import WRITEBACK
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.agents_day import check_rolled_back, prepare, touched_since_cutover, work


class Stopped(Exception):
    """Stands for the process dying at a checkpoint."""


def _stop_at(point: str) -> Operation:
    def checkpoint(reached: str) -> None:
        if reached == point:
            raise Stopped(point)

    return Operation(checkpoint=checkpoint)


@pytest.mark.slow
def test_a_rollback_after_every_kind_of_command_brings_each_change_back_in_the_legacy_shape(
    database_url: str,
) -> None:
    day = prepare(database_url)
    work(database_url, day)
    touched = touched_since_cutover(database_url)
    tracker = open_tracker(Settings(database_url=database_url))
    try:
        result = rollback(tracker, database_url)
    finally:
        tracker.sql_recorder.close()
    assert result.legacy_checksums_equal is True, "the rows nothing touched are as at the snapshot"
    assert result.written == {t: len(rows) for t, rows in touched.items()}
    check_rolled_back(database_url, day, touched)


@pytest.mark.slow
def test_a_rollback_stopped_after_a_write_back_batch_finishes_the_same_when_run_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = prepare(database_url)
    work(database_url, day)
    touched = touched_since_cutover(database_url)
    monkeypatch.setattr(legacy_writeback, "BATCH_EVENTS", 3)
    tracker = open_tracker(Settings(database_url=database_url))
    try:
        with pytest.raises(Stopped):
            rollback(tracker, database_url, operation=_stop_at("after-writeback-batch"))
        engine = make_engine(database_url)
        with engine.connect() as conn:
            assert tracking.read_position(conn, WRITEBACK) > 0, "the first batch and its position were committed"
        engine.dispose()
        again = rollback(tracker, database_url)
    finally:
        tracker.sql_recorder.close()
    assert again.legacy_checksums_equal is None, "the kept copy was checked by the stopped run"
    check_rolled_back(database_url, day, touched)
