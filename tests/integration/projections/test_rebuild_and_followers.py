"""Rebuild equals the incrementally kept tables; a standby follower takes over."""

from __future__ import annotations

import random
import signal
import threading
import time

import pytest
from sqlalchemy import inspect

from domain.lifecycle import Phase
from infrastructure.projections import tracking
from infrastructure.projections.rebuild import open_live_tables, rebuild
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.integration.projections.test_runner import some_work
from tests.support.lifecycle import record_phase
from tests.support.processes import run_convtrack, start_convtrack
from tests.support.table_rows import rows_of


def test_a_rebuild_during_writes_equals_the_incrementally_kept_tables(database_url: str) -> None:
    record_phase(database_url, Phase.CUT_OVER)  # drop-retired is for a cut-over tracker
    tracker = open_tracker(Settings(database_url=database_url))
    tables = open_live_tables(tracker)
    some_work(tracker, random.Random(3), 200)
    follower = ProjectionRunner(tracker, tables)
    stop = threading.Event()
    follow = threading.Thread(target=follower.follow, args=(stop,), kwargs={"interval": 0.01})
    follow.start()
    writer_stop = threading.Event()

    def keep_writing() -> None:
        rng = random.Random(4)
        while not writer_stop.is_set():
            some_work(tracker, rng, 5)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        time.sleep(0.3)
        result = rebuild(tracker, batch_size=50)
        time.sleep(0.3)
        writer_stop.set()
        writer.join()
        assert ProjectionRunner(tracker, tables).wait_for(tracker.sql_recorder.max_notification_id() or 0, timeout=30)
    finally:
        writer_stop.set()
        stop.set()
        writer.join()
        follow.join()
    assert result.retired_label is not None
    live_rows = rows_of(tracker.sql_recorder.engine, tables)
    again = rebuild(tracker, batch_size=1000)
    assert rows_of(tracker.sql_recorder.engine, tables) == live_rows
    assert again.position == tracker.sql_recorder.max_notification_id()
    engine = tracker.sql_recorder.engine
    retired = result.retired
    assert retired is not None
    assert inspect(engine).has_table(retired.scores, schema=retired.schema), "old tables are kept until dropped"
    dropped = run_convtrack(database_url, "drop-retired", result.retired_label, "--yes")
    assert dropped.returncode == 0, dropped.stderr
    assert not inspect(engine).has_table(retired.scores, schema=retired.schema)


@pytest.mark.slow
def test_when_the_active_follower_is_killed_a_standby_takes_over_within_seconds(mariadb_url: str) -> None:
    record_phase(mariadb_url, Phase.CUT_OVER)  # followers keep the live tables of a cut-over tracker
    tracker = open_tracker(Settings(database_url=mariadb_url))
    tables = open_live_tables(tracker)
    runner = ProjectionRunner(tracker, tables)
    first = start_convtrack(mariadb_url, "project", "--interval", "0.05")
    time.sleep(1.5)
    second = start_convtrack(mariadb_url, "project", "--interval", "0.05")
    try:
        some_work(tracker, random.Random(5), 30)
        assert runner.wait_for(tracker.sql_recorder.max_notification_id() or 0, timeout=15)
        with tracker.sql_recorder.engine.connect() as conn:
            holder = conn.execute(tracking.lease_table.select()).first()
        assert holder is not None
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        some_work(tracker, random.Random(6), 30)
        killed_at = time.monotonic()
        assert runner.wait_for(tracker.sql_recorder.max_notification_id() or 0, timeout=15)
        assert time.monotonic() - killed_at < 10
        with tracker.sql_recorder.engine.connect() as conn:
            new_holder = conn.execute(tracking.lease_table.select()).first()
        assert new_holder is not None and new_holder.holder != holder.holder
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)
