"""``convtrack cutover --yes`` and ``convtrack rollback --yes`` killed with kill -9 at each
point that matters (before their start is recorded, between the record and the rename,
after the rename before the result is recorded) are finished by running them again, with
the same result as an uninterrupted run: the same label, the same positions, the same
rows, one record of each kind."""

from __future__ import annotations

import re
import signal
import subprocess
import threading

import pytest
from sqlalchemy import select, text

from bootstrap.bootstrapper import STAGING
from bootstrap.cutover import LOGICAL, kept_checksums
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from domain.lifecycle import Phase
from infrastructure.database import make_engine
from infrastructure.projections import tracking
from infrastructure.projections.names import LIVE
from infrastructure.projections.tables import TableNames
from infrastructure.settings import Settings
from infrastructure.wiring import read_lifecycle
from tests.support.cutover_state import bootstrap_run, has_tables, table_rows
from tests.support.db_state import event_count
from tests.support.lifecycle import bring_to
from tests.support.processes import CONVTRACK, convtrack_env, run_convtrack

LABEL = re.compile(r"ct_(legacy|rolledback)_\d{14}_\w+")


def kill_at(database_url: str, point: str, *args: str) -> None:
    """Run ``convtrack *args`` until it pauses at ``point``, then kill -9 it."""
    process = subprocess.Popen(
        [CONVTRACK, *args],
        env=convtrack_env(database_url, CONVTRACK_PAUSE_AT=point),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    try:
        seen = []
        assert process.stderr is not None
        for line in process.stderr:
            seen.append(line)
            if line.startswith(f"paused at {point}"):
                process.send_signal(signal.SIGKILL)
                break
        assert process.wait(timeout=30) == -signal.SIGKILL, f"{args} did not reach {point}: {''.join(seen)[-2000:]}"
    finally:
        watchdog.cancel()
        process.kill()


def phase(database_url: str) -> Phase:
    return read_lifecycle(Settings(database_url=database_url)).phase


def label_of(output: str) -> str:
    found = LABEL.search(output)
    assert found, output
    return found.group(0)


def positions(database_url: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        found = (tracking.read_position(conn, STAGING), tracking.read_position(conn, LIVE))
        holder = conn.execute(select(tracking.lease_table.c.holder)).scalars().all()
    engine.dispose()
    assert "cutover" not in holder, "the cutover's lease is released"
    return found


@pytest.mark.slow
def test_a_cutover_and_a_rollback_killed_at_each_point_finish_on_rerun_as_if_never_interrupted(
    database_url: str,
) -> None:
    bring_to(database_url, Phase.BOOTSTRAPPED)
    engine = make_engine(database_url)
    live, snapshot = TableNames.live(), bootstrap_run(database_url).legacy_checksums
    staged = {t: table_rows(engine, TableNames.staging(engine), t) for t in LOGICAL}
    label = label_of(run_convtrack(database_url, "cutover", "--dry-run").stdout)
    events = event_count(database_url)

    kill_at(database_url, "before-record", "cutover", "--yes")
    assert event_count(database_url) == events and phase(database_url) is Phase.BOOTSTRAPPED
    kill_at(database_url, "after-record", "cutover", "--yes")
    assert event_count(database_url) == events + 1 and bootstrap_run(database_url).cutover_pending == label
    assert not has_tables(engine, live, "conversions"), "not renamed yet"
    kill_at(database_url, "after-rename", "cutover", "--yes")
    assert has_tables(engine, live, "conversions") and phase(database_url) is Phase.BOOTSTRAPPED
    finished = run_convtrack(database_url, "cutover", "--yes")
    assert finished.returncode == 0, finished.stderr

    run = bootstrap_run(database_url)
    assert run.cut_over and run.legacy_label == label_of(finished.stdout) == label
    assert event_count(database_url) == events + 2, "one CutoverStarted, one CutOver"
    assert positions(database_url) == (run.cutover_position, run.cutover_position)
    assert {t: table_rows(engine, live, t) for t in LOGICAL} == staged
    assert kept_checksums(engine, TableNames.sibling(engine, label)) == snapshot
    killed_rollback_finishes(database_url, snapshot)
    engine.dispose()


def killed_rollback_finishes(database_url: str, snapshot: dict[str, str]) -> None:
    engine = make_engine(database_url)
    live = TableNames.live()
    tracker_rows = {t: table_rows(engine, live, t) for t in LOGICAL}
    label = label_of(run_convtrack(database_url, "rollback", "--dry-run").stdout)
    events = event_count(database_url)

    kill_at(database_url, "before-record", "rollback", "--yes")
    assert event_count(database_url) == events and phase(database_url) is Phase.CUT_OVER
    kill_at(database_url, "after-record", "rollback", "--yes")
    assert event_count(database_url) == events + 1 and phase(database_url) is Phase.ROLLED_BACK
    with engine.connect() as conn:
        started_at = int(conn.execute(text("SELECT MAX(id) FROM stored_events")).scalar() or 0)
    assert has_tables(engine, live, "conversions"), "not renamed yet"
    kill_at(database_url, "after-rename", "rollback", "--yes")
    assert not has_tables(engine, live, "conversions") and phase(database_url) is Phase.ROLLED_BACK
    finished = run_convtrack(database_url, "rollback", "--yes")
    assert finished.returncode == 0, finished.stderr

    run = bootstrap_run(database_url)
    assert not run.cut_over and run.rollback_pending is None
    assert run.history[-1] == {"rollback": label, "position": started_at}
    assert event_count(database_url) == events + 2, "one RollbackStarted, one RolledBack"
    source = LegacySource(database_url)
    assert {t: source.checksum(t) for t in MIGRATED_TABLES} == snapshot
    source.close()
    kept = TableNames.sibling(engine, label)
    assert {t: table_rows(engine, kept, t) for t in LOGICAL} == tracker_rows
    engine.dispose()
