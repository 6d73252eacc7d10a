"""``convtrack project`` (following) never dies on an event it cannot apply: it retries,
logging each attempt, and carries on once the cause is fixed; a rollback stops it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from bootstrap.cutover import rollback
from domain import commands
from domain.lifecycle import Phase
from infrastructure.projections.names import LIVE
from infrastructure.projections.tracking import read_position
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import bring_to
from tests.support.processes import start_convtrack


@pytest.mark.slow
def test_a_following_project_retries_a_poison_event_then_stops_at_a_rollback(sqlite_url: str) -> None:
    bring_to(sqlite_url, Phase.CUT_OVER, users=0)
    tracker = open_tracker(Settings(database_url=sqlite_url))
    tracker.agents = None  # a writer that did not check agents: this event cannot be projected
    poison = tracker.execute(commands.RecordConversion(user_id=2, conversion_type="signed", primary_agent_id=404))
    engine = tracker.sql_recorder.engine
    follower = start_convtrack(sqlite_url, "project", "--interval", "0.05")
    try:
        time.sleep(5)  # the first attempt, then retries after 1 s and 2 s
        assert follower.poll() is None, "the follower must keep running"
        with engine.begin() as conn:  # the cause fixed: the next attempt applies it
            conn.execute(
                text(
                    "INSERT INTO agents (id, name, email, is_active, created_at) "
                    "VALUES (404, 'Late', 'late@example.com', 1, '2026-01-01 00:00:00')"
                )
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                if read_position(conn, LIVE) >= (poison.position or 0):
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("the follower did not get past the fixed event")
        rollback(tracker, sqlite_url)
        follower.wait(timeout=20)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait(10)
    stderr = follower.stderr.read() if follower.stderr else ""
    failures = [line for line in stderr.splitlines() if "cannot apply event at position" in line]
    assert len(failures) >= 2 and all(line.endswith(" s") and "retrying in" in line for line in failures), stderr
    assert follower.returncode == 5, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: project is not possible in phase rolled_back"), stderr
