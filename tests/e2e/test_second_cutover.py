"""A second cutover after a rollback, as an operator drives it with the CLI: cutover, a day
of agents' work, rollback, then the legacy app writes its tables directly (a score changed,
an entry assigned and completed, an entry made a callback, a new user's score and entry, a
new entry for a known user, an entry deleted), then ``bootstrap`` again, ``verify`` and
``cutover``: the live tables carry the legacy app's writes and the agents' work, the user's
history says what the legacy app did, and a second rollback restores them again. Killed
with kill -9 during that bootstrap (and that cutover), a rerun ends as an uninterrupted run."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import delete, insert, update

from bootstrap.legacy_diff import shape_of
from bootstrap.legacy_shape import LegacyShape
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from bootstrap.legacy_writeback import kept_tables
from domain.call_queue_entry import CallQueueEntry
from domain.lifecycle import Phase
from domain.user_call_score import UserCallScore
from infrastructure.database import make_engine, write_transaction
from infrastructure.projections.tables import TableNames
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.e2e.test_cutover_killed import phase
from tests.support.agents_day import Day, legacy_ddl, prepare, touched_since_cutover, typed_rows, work
from tests.support.db_state import database_state
from tests.support.processes import run_convtrack

LEGACY_AT = datetime(2026, 12, 2, 8, 15, 30, 125000)
NEW_LEGACY_USER = 424242


def legacy_app_writes(url: str, day: Day) -> dict[str, Any]:
    """What the legacy app does after the rollback, straight in SQL; returns the ids."""
    scores = sorted(day.before["user_call_scores"].values(), key=lambda r: r["id"])
    queue = sorted(day.before["call_queue"].values(), key=lambda r: r["id"])
    touched = {i for (_, i) in day.expected}
    plain = [r for r in queue if r["id"] not in touched and r["status"] == "pending" and r["queue_type"] != "callback"]
    score = next(r for r in scores if r["id"] not in touched)
    ids = {"score": score["id"], "assigned": plain[0]["id"], "callback": plain[1]["id"], "deleted": plain[2]["id"]}
    engine = make_engine(url)
    tables = kept_tables(engine, TableNames.live())
    s, q = tables["user_call_scores"], tables["call_queue"]
    new_score = {**score, "id": "legacy-app-score", "user_id": NEW_LEGACY_USER, "current_score": 17}
    new_entry = {**plain[3], "id": "legacy-app-entry", "user_id": NEW_LEGACY_USER, "created_at": LEGACY_AT}
    known_entry = {**plain[3], "id": "legacy-app-entry-2", "queue_reason": "back\ttwice ü", "created_at": LEGACY_AT}
    with write_transaction(engine) as conn:
        conn.execute(update(s).where(s.c.id == ids["score"]).values(current_score=99, updated_at=LEGACY_AT))
        conn.execute(
            update(q)
            .where(q.c.id == ids["assigned"])
            .values(status="assigned", assigned_to_agent_id=7, assigned_at=LEGACY_AT, updated_at=LEGACY_AT)
        )
        conn.execute(update(q).where(q.c.id == ids["callback"]).values(queue_type="callback", scheduled_for=LEGACY_AT))
        conn.execute(delete(q).where(q.c.id == ids["deleted"]))
        conn.execute(insert(s).values(**new_score))
        conn.execute(insert(q).values(**new_entry))
        conn.execute(insert(q).values(**known_entry))
    engine.dispose()
    return {**ids, "known_user": int(plain[3]["user_id"])}


EXPECTED_PREVIEW = {
    "user_call_scores rows changed in the legacy app": 1,
    "user_call_scores rows added in the legacy app": 1,
    "user_call_scores rows deleted in the legacy app": 0,
    "call_queue rows changed in the legacy app": 2,
    "call_queue rows added in the legacy app": 2,
    "call_queue rows deleted in the legacy app": 1,
}


def counted(output: str) -> dict[str, int]:
    """The ``… in the legacy app`` rows of a printed counts table."""
    found = re.findall(r"│ (\w+ rows \w+ in the legacy app)\s*│\s*([\d,]+) │", output)
    return {what: int(count.replace(",", "")) for what, count in found}


def to_rollback_and_legacy_writes(url: str) -> tuple[Day, dict[str, Any]]:
    day = prepare(url, users=30)
    work(url, day)
    rolled = run_convtrack(url, "rollback", "--yes")
    assert rolled.returncode == 0, rolled.stderr
    return day, legacy_app_writes(url, day)


def legacy_shape_of_live(url: str, shape: LegacyShape) -> dict[str, dict[str, dict[str, Any]]]:
    """The live (tracker's) rows as the legacy tables (of ``shape``) would hold them."""
    engine = make_engine(url)
    tables = kept_tables(engine, TableNames.live())
    found: dict[str, dict[str, dict[str, Any]]] = {}
    with engine.connect() as conn:
        for t in MIGRATED_TABLES:
            found[t] = {str(r.id): shape.row(t, dict(r._mapping)) for r in conn.execute(tables[t].select())}
    engine.dispose()
    return found


def differing(live: dict[str, Any], legacy: dict[str, Any]) -> list[tuple[str, str, str, Any, Any]]:
    """(table, id, column, live, legacy) wherever they differ; a missing row is column ``<row>``."""
    found = []
    for table in MIGRATED_TABLES:
        for row_id in sorted(set(live[table]) | set(legacy[table])):
            mine, theirs = live[table].get(row_id), legacy[table].get(row_id)
            if mine is None or theirs is None:
                found.append((table, row_id, "<row>", mine is not None, theirs is not None))
                continue
            found += [(table, row_id, c, mine.get(c), v) for c, v in theirs.items() if mine.get(c) != v]
    return [d for d in found if not forgiven(d, live)]


def forgiven(difference: tuple[str, str, str, Any, Any], live: dict[str, Any]) -> bool:
    """The one leniency (bootstrap.legacy_diff): an entry with no callback whose legacy
    schedule time is empty (a rollback writes none for a cleared callback)."""
    table, row_id, column, _mine, theirs = difference
    return (
        table == "call_queue"
        and column == "scheduled_for"
        and theirs is None
        and live[table][row_id]["queue_type"] != "callback"
    )


def event_names(url: str, aggregate_id: Any) -> list[str]:
    tracker = open_tracker(Settings(database_url=url))
    try:
        return [type(e).__qualname__ for e in tracker.events.get(aggregate_id)]
    finally:
        tracker.sql_recorder.close()


def second_bootstrap_verify_cutover(url: str) -> tuple[dict[str, dict[str, dict[str, Any]]], LegacyShape]:
    """Run them; return the legacy tables as the legacy app left them (before the bootstrap)
    and their shape."""
    legacy = typed_rows(url)
    source = LegacySource(url)
    shape = shape_of(source)
    source.close()
    booted = run_convtrack(url, "bootstrap")
    assert booted.returncode == 0, booted.stderr
    checked = run_convtrack(url, "verify")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert phase(url) is Phase.BOOTSTRAPPED
    cut = run_convtrack(url, "cutover", "--yes")
    assert cut.returncode == 0, cut.stderr
    assert phase(url) is Phase.CUT_OVER
    return legacy, shape


@pytest.mark.slow
def test_a_second_cutover_carries_the_legacy_apps_writes_and_the_agents_work_and_rolls_back_again(
    database_url: str,
) -> None:
    day, ids = to_rollback_and_legacy_writes(database_url)
    preview = run_convtrack(database_url, "bootstrap", "--dry-run")
    assert preview.returncode == 0, preview.stderr
    assert counted(preview.stdout) == EXPECTED_PREVIEW, preview.stdout
    state = database_state(database_url)
    assert run_convtrack(database_url, "bootstrap", "--dry-run").returncode == 0
    assert database_state(database_url) == state, "the dry run wrote nothing"

    legacy, shape = second_bootstrap_verify_cutover(database_url)
    live = legacy_shape_of_live(database_url, shape)
    assert differing(live, legacy) == [], "the live rows are the legacy app's rows, in the tracker's shape"
    assert live["call_queue"][ids["assigned"]]["assigned_to_agent_id"] == 7
    assert ids["deleted"] not in live["call_queue"] and "legacy-app-entry-2" in live["call_queue"]
    for (table, row_id), values in day.expected.items():  # the agents' work before the rollback
        kept = {k: v for k, v in values.items() if not forgiven((table, row_id, k, None, v), live)}
        assert {k: live[table][row_id][k] for k in kept} == kept, (table, row_id)
    score_user = legacy["user_call_scores"][ids["score"]]["user_id"]
    assert event_names(database_url, UserCallScore.create_id(score_user))[-1] == "UserCallScore.ChangedInLegacyApp"
    assert "CallQueueEntry.DeletedInLegacyApp" in event_names(database_url, CallQueueEntry.create_id(ids["deleted"]))
    assert event_names(database_url, UserCallScore.create_id(NEW_LEGACY_USER)) == ["UserCallScore.Seeded"]
    assert event_names(database_url, UserCallScore.create_id(ids["known_user"]))[-1].endswith(
        "QueueEntryAddedInLegacyApp"
    )

    live_check = run_convtrack(database_url, "verify", "--live")
    assert live_check.returncode == 0, live_check.stdout + live_check.stderr
    completed = run_convtrack(database_url, "queue", "complete", "legacy-app-entry", "--reason", "done")
    assert completed.returncode == 0, completed.stderr
    touched = touched_since_cutover(database_url)
    again = run_convtrack(database_url, "rollback", "--yes")
    assert again.returncode == 0, again.stderr
    restored = typed_rows(database_url)
    assert restored["call_queue"]["legacy-app-entry"]["status"] == "completed"
    engine = make_engine(database_url)
    assert legacy_ddl(engine) == day.ddl, "the legacy constraints and indexes exactly as they were"
    engine.dispose()
    for table in MIGRATED_TABLES:
        assert {i: r for i, r in restored[table].items() if i not in touched[table]} == {
            i: r for i, r in legacy[table].items() if i not in touched[table]
        }
