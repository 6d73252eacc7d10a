"""The runner applies every event exactly once, survives kill -9, and never skips."""

from __future__ import annotations

import random
import signal
import time
from datetime import datetime

import pytest
from sqlalchemy import text

from domain import commands
from domain.lifecycle import Phase
from infrastructure.application import ConversionTracker
from infrastructure.projections.rebuild import open_live_tables, rebuild
from infrastructure.projections.runner import ProjectionFailed, ProjectionRunner
from infrastructure.projections.tables import TableNames, create_projection_tables
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import record_phase
from tests.support.processes import run_convtrack, start_convtrack
from tests.support.table_rows import rows_of


def some_work(tracker: ConversionTracker, rng: random.Random, count: int) -> None:
    entries: list[str] = []
    for _ in range(count):
        user = rng.randint(1, 40)
        choice = rng.random()
        try:
            if choice < 0.3:
                entries.append(
                    tracker.execute(
                        commands.Enqueue(
                            user_id=user,
                            queue_type=rng.choice(["unsigned_users", "outstanding_requests"]),
                            reason="r\t'ü'",
                        )
                    ).ids["entry_id"]
                )
            elif choice < 0.6:
                tracker.execute(
                    commands.RecordCallAttempt(
                        user_id=user, agent_id=rng.randint(1, 5), outcome=rng.choice(["answered", "busy"])
                    )
                )
            elif choice < 0.7 and entries:
                tracker.execute(
                    commands.ScheduleCallback(
                        entry_id=rng.choice(entries), scheduled_for=datetime(2027, 1, 2, 3, 4, 5, 678000)
                    )
                )
            elif choice < 0.8 and entries:
                tracker.execute(commands.Assign(entry_id=rng.choice(entries), agent_id=2))
            elif choice < 0.9:
                result = tracker.execute(
                    commands.RecordConversion(user_id=user, conversion_type="signed", claim_value="99999999.99")
                )
                if rng.random() < 0.3:
                    tracker.execute(
                        commands.ReverseConversion(conversion_id=result.ids["conversion_id"], reason="oops")
                    )
            else:
                tracker.execute(commands.ResetScore(user_id=user, reason="monthly"))
        except Exception as error:  # domain refusals (already converted, closed entry) are part of the mix
            from domain.errors import ConvTrackError

            assert isinstance(error, ConvTrackError), error


def tracker_with_one_agent(database_url: str) -> ConversionTracker:
    """A tracker whose database has an ``agents`` table holding agent 1 only, so the
    projected tables get their foreign keys to it."""
    tracker = open_tracker(Settings(database_url=database_url))
    with tracker.sql_recorder.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE agents (id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(191) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO agents (id, name) VALUES (1, 'Ann')")
    return tracker


def fresh_rebuild_rows(tracker: ConversionTracker) -> dict[str, list[tuple[object, ...]]]:
    result = rebuild(tracker, swap=False)
    staging = create_projection_tables(
        tracker.sql_recorder.engine, TableNames.sibling(tracker.sql_recorder.engine, "ct_rebuild"), None
    )
    assert result.position == tracker.sql_recorder.max_notification_id()
    return rows_of(tracker.sql_recorder.engine, staging)


def test_run_once_catches_up_and_matches_a_replay_from_scratch(database_url: str) -> None:
    tracker = open_tracker(Settings(database_url=database_url))
    tables = open_live_tables(tracker)
    runner = ProjectionRunner(tracker, tables, batch_size=37)
    some_work(tracker, random.Random(1), 150)
    runner.run_once()
    some_work(tracker, random.Random(2), 100)
    runner.run_once()
    assert runner.lag() == 0
    assert runner.position() == tracker.sql_recorder.max_notification_id()
    assert rows_of(tracker.sql_recorder.engine, tables) == fresh_rebuild_rows(tracker)


def test_a_follower_killed_with_sigkill_again_and_again_resumes_without_loss(database_url: str) -> None:
    record_phase(database_url, Phase.CUT_OVER)  # `convtrack project` follows a cut-over tracker
    tracker = open_tracker(Settings(database_url=database_url))
    tables = open_live_tables(tracker)
    rng = random.Random(7)
    for round_ in range(4):
        follower = start_convtrack(database_url, "project", "--batch-size", "7", "--interval", "0.02")
        some_work(tracker, rng, 60)
        time.sleep(rng.uniform(0.05, 0.4))
        follower.send_signal(signal.SIGKILL)
        follower.wait(timeout=10)
        assert follower.returncode == -signal.SIGKILL, (
            f"round {round_}: follower ended by itself: {follower.stderr.read()}"
        )
    done = run_convtrack(database_url, "project", "--once")
    assert done.returncode == 0, done.stderr
    runner = ProjectionRunner(tracker, tables)
    assert runner.position() == tracker.sql_recorder.max_notification_id()
    assert rows_of(tracker.sql_recorder.engine, tables) == fresh_rebuild_rows(tracker)


def test_read_your_writes_waits_until_the_position_is_applied(database_url: str) -> None:
    import threading

    tracker = open_tracker(Settings(database_url=database_url))
    runner = ProjectionRunner(tracker, open_live_tables(tracker))
    stop = threading.Event()
    follower = threading.Thread(target=runner.follow, args=(stop,), kwargs={"interval": 0.02})
    follower.start()
    try:
        result = tracker.execute(commands.Enqueue(user_id=9, queue_type="unsigned_users"))
        assert runner.wait_for(result.position or 0, timeout=10)
        with tracker.sql_recorder.engine.connect() as conn:
            assert (
                conn.execute(
                    text("SELECT status FROM call_queue WHERE id = :i"), {"i": result.ids["entry_id"]}
                ).scalar()
                == "pending"
            )
    finally:
        stop.set()
        follower.join()
    assert not runner.wait_for(10**9, timeout=0.1)


def test_an_event_that_cannot_be_applied_stops_the_runner_naming_its_position(database_url: str) -> None:
    tracker = tracker_with_one_agent(database_url)
    record_phase(database_url, Phase.CUT_OVER)  # `convtrack project` follows a cut-over tracker
    engine = tracker.sql_recorder.engine
    tables = create_projection_tables(engine, TableNames.live(), None)
    runner = ProjectionRunner(tracker, tables)
    good = tracker.execute(commands.Enqueue(user_id=1, queue_type="unsigned_users"))
    tracker.agents = None  # a writer that does not check agents (e.g. an older client)
    bad = tracker.execute(commands.RecordConversion(user_id=2, conversion_type="signed", primary_agent_id=404))
    after = tracker.execute(commands.Enqueue(user_id=3, queue_type="unsigned_users"))
    with pytest.raises(ProjectionFailed) as failure:
        runner.run_once()
    assert failure.value.position <= (bad.position or 0)
    assert runner.position() >= (good.position or 0)
    assert runner.position() < failure.value.position
    assert runner.position() < (after.position or 0)
    cli = run_convtrack(database_url, "project", "--once")
    assert cli.returncode != 0
    assert f"position {failure.value.position}" in cli.stderr
    assert [line for line in cli.stderr.splitlines() if line.startswith("error:")] == [
        line for line in cli.stderr.splitlines() if f"position {failure.value.position}" in line
    ], "one clear error line"
