"""The bootstrap after a rollback killed with kill -9 between its batches (twice: once in
the first run, once in the resumed one), and the second cutover killed after its record and
after its rename, are finished by running them again: each legacy-app write is recorded
exactly once, verify finds nothing lost, the live tables are the staging tables, and the
cycle repeats (rollback, bootstrap, verify) as the first time."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import column, func, select, table

from bootstrap.cutover import LOGICAL
from domain.lifecycle import Phase
from infrastructure.database import make_engine
from infrastructure.projections.tables import TableNames
from tests.e2e.test_cutover_killed import kill_at, phase
from tests.e2e.test_second_cutover import EXPECTED_PREVIEW, counted, to_rollback_and_legacy_writes
from tests.support.cutover_state import has_tables, table_rows
from tests.support.db_state import database_state, event_count
from tests.support.processes import run_convtrack

# what the legacy app's writes (test_second_cutover.legacy_app_writes) must become, once each
EXPECTED_EVENTS = Counter(
    {
        "BootstrapRun.ResyncStarted": 1,
        "BootstrapRun.Completed": 1,
        "UserCallScore.ChangedInLegacyApp": 1,
        "UserCallScore.Seeded": 1,  # the new user's score row
        "UserCallScore.QueueEntryAddedInLegacyApp": 1,  # a new entry of a known user
        "CallQueueEntry.Seeded": 2,
        "CallQueueEntry.ChangedInLegacyApp": 2,
        "CallQueueEntry.DeletedInLegacyApp": 1,
    }
)


EVENTS = table("stored_events", column("id"), column("topic"))


def head(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = int(conn.execute(select(func.max(EVENTS.c.id))).scalar() or 0)
    engine.dispose()
    return found


def events_after(url: str, position: int) -> Counter[str]:
    """How many events of each class were recorded after ``position``."""
    engine = make_engine(url)
    with engine.connect() as conn:
        topics = conn.execute(select(EVENTS.c.topic).where(EVENTS.c.id > position)).scalars().all()
    engine.dispose()
    return Counter(str(t).partition(":")[2] for t in topics)


@pytest.mark.slow
def test_a_killed_bootstrap_after_a_rollback_and_a_killed_second_cutover_finish_on_rerun(database_url: str) -> None:
    to_rollback_and_legacy_writes(database_url)
    start, events = head(database_url), event_count(database_url)
    kill_at(database_url, "after-resync-batch", "bootstrap", "--batch-size", "1")
    assert phase(database_url) is Phase.BOOTSTRAPPING
    first_part = event_count(database_url) - events
    kill_at(database_url, "after-resync-batch", "bootstrap", "--batch-size", "1")
    assert event_count(database_url) - events > first_part, "the resumed run went on where the first stopped"
    left = run_convtrack(database_url, "bootstrap", "--dry-run")
    assert left.returncode == 0, left.stderr
    assert 0 < sum(counted(left.stdout).values()) < sum(EXPECTED_PREVIEW.values()), left.stdout
    finished = run_convtrack(database_url, "bootstrap")
    assert finished.returncode == 0, finished.stderr
    assert "resumed" in finished.stdout
    assert events_after(database_url, start) == EXPECTED_EVENTS
    checked = run_convtrack(database_url, "verify")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    engine = make_engine(database_url)
    staged = {t: table_rows(engine, TableNames.staging(engine), t) for t in LOGICAL}
    state = database_state(database_url)
    kill_at(database_url, "before-record", "cutover", "--yes")
    assert database_state(database_url) == state, "killed before its record, the cutover changed nothing"
    kill_at(database_url, "after-record", "cutover", "--yes")
    kill_at(database_url, "after-rename", "cutover", "--yes")
    assert has_tables(engine, TableNames.live(), "conversions") and phase(database_url) is Phase.BOOTSTRAPPED
    cut = run_convtrack(database_url, "cutover", "--yes")
    assert cut.returncode == 0, cut.stderr
    assert phase(database_url) is Phase.CUT_OVER
    assert {t: table_rows(engine, TableNames.live(), t) for t in LOGICAL} == staged
    engine.dispose()

    for argv in (("rollback", "--yes"), ("bootstrap",), ("verify",)):  # and once more
        again = run_convtrack(database_url, *argv)
        assert again.returncode == 0, (argv, again.stdout, again.stderr)
    assert phase(database_url) is Phase.BOOTSTRAPPED
