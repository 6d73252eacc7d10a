"""A rebuild replayed by several processes, each projecting its own aggregates, gives the
same tables, row for row, as the incrementally maintained ones (MariaDB)."""

from __future__ import annotations

import os
import random
import re
import signal
import time

import pytest
from sqlalchemy import func, select, text

from domain import commands
from domain.lifecycle import Phase
from infrastructure.projections.parallel_replay import PartitionFailed
from infrastructure.projections.rebuild import open_live_tables, rebuild
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.projections.tables import TableNames, create_projection_tables
from infrastructure.projections.tracking import tracking_table
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.benchmarks.store_builder import fill_store
from tests.integration.projections.test_runner import some_work, tracker_with_one_agent
from tests.support.lifecycle import record_phase
from tests.support.processes import run_convtrack, start_convtrack
from tests.support.table_rows import rows_of


def test_a_rebuild_by_three_processes_equals_the_live_tables(mariadb_url: str) -> None:
    tracker = open_tracker(Settings(database_url=mariadb_url))
    engine = tracker.sql_recorder.engine
    live = open_live_tables(tracker)
    some_work(tracker, random.Random(7), 300)
    ProjectionRunner(tracker, live, batch_size=50).run_once()
    with engine.connect() as conn:
        per_partition = conn.execute(
            text("SELECT MOD(ORD(SUBSTRING(originator_id, 16, 1)), 3) AS k, COUNT(*) FROM stored_events GROUP BY k")
        ).all()
    assert len(per_partition) == 3 and min(n for _, n in per_partition) > 10  # every process has work

    result = rebuild(tracker, swap=False, workers=3, batch_size=7)

    head = tracker.sql_recorder.max_notification_id()
    assert result.position == head and result.events == head
    rebuilt = create_projection_tables(engine, TableNames.sibling(engine, "ct_rebuild"), None)
    assert rows_of(engine, rebuilt) == rows_of(engine, live)
    with engine.connect() as conn:
        names = {row[0] for row in conn.execute(tracking_table.select().with_only_columns(tracking_table.c.name))}
    assert not any(".0of3" in name or ".2of3" in name for name in names)  # partition rows are removed


def test_a_partition_that_cannot_apply_an_event_fails_the_rebuild_naming_the_event(mariadb_url: str) -> None:
    tracker = tracker_with_one_agent(mariadb_url)
    for user in range(1, 30):
        good = tracker.execute(commands.Enqueue(user_id=user, queue_type="unsigned_users"))
    tracker.agents = None  # a writer that does not check agents
    bad = tracker.execute(commands.RecordConversion(user_id=99, conversion_type="signed", primary_agent_id=404))
    with pytest.raises(PartitionFailed) as failure:
        rebuild(tracker, swap=False, workers=2)
    named = re.search(r"cannot apply event at position (\d+) \(domain.conversion:", str(failure.value))
    assert named is not None, failure.value
    assert (good.position or 0) < int(named.group(1)) <= (bad.position or 0)  # one of the conversion's events
    assert failure.value.exit_code == 7


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115 - one read
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _running(pid: int) -> bool:
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 - one read
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.slow
def test_a_rebuild_killed_during_its_parallel_replay_leaves_no_writer_behind_and_reruns(mariadb_url: str) -> None:
    record_phase(mariadb_url, Phase.CUT_OVER)  # `convtrack rebuild` is for a cut-over tracker
    tracker = open_tracker(Settings(database_url=mariadb_url))
    engine = tracker.sql_recorder.engine
    live = open_live_tables(tracker)
    fill_store(tracker, 20_000)
    ProjectionRunner(tracker, live).run_once()
    before = rows_of(engine, live)

    rebuilding = start_convtrack(mariadb_url, "rebuild", "--workers", "2", "--batch-size", "5")
    deadline = time.monotonic() + 60
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            started = conn.execute(
                select(func.count()).where(tracking_table.c.name.like("rebuild.%of2"), tracking_table.c.position > 0)
            ).scalar()
            conn.rollback()
            if started == 2:
                break
            time.sleep(0.05)
    replayers = _children_of(rebuilding.pid)
    rebuilding.send_signal(signal.SIGKILL)
    rebuilding.wait()
    assert replayers, "the replay processes were running"
    deadline = time.monotonic() + 3  # far less than the replay would take (batches of 5 events)
    while any(_running(pid) for pid in replayers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in replayers), "orphaned replay processes kept writing"

    rerun = run_convtrack(mariadb_url, "rebuild", "--workers", "2")
    assert rerun.returncode == 0, rerun.stderr
    assert rows_of(engine, live) == before  # the swapped-in tables: the same rows
