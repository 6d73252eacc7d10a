"""Writes from outside the tracker (a Prisma or SQL client on the live tables) are seen,
never silently lost: `verify --live` lists them, `rebuild` refuses to swap over them
unless told to discard them, and the live follower warns when a write meets one."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, delete, func, select, update

from domain import commands
from domain.errors import OperationRefused
from domain.lifecycle import Phase
from infrastructure.application import ConversionTracker
from infrastructure.cli.phase_guard import key_for
from infrastructure.projections.live_check import check_live
from infrastructure.projections.rebuild import legacy_schema_of, open_live_tables, rebuild
from infrastructure.projections.runner import ProjectionFailed, ProjectionRunner
from infrastructure.projections.tables import ProjectionTables, TableNames, projection_tables
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.in_process_cli import run_cli
from tests.support.lifecycle import bring_to, record_phase

WHEN = datetime(2026, 11, 30, 10, 0, 0, 123000)


def live_tables(tracker: ConversionTracker) -> ProjectionTables:
    return projection_tables(TableNames.live(), legacy_schema_of(tracker), with_agents_fk=False)


def write_from_outside(tracker: ConversionTracker) -> dict[str, str]:
    """What a Prisma client might do: create a conversion, assign a pending queue row,
    delete a score row. Returns the ids touched."""
    tables = live_tables(tracker)
    queue, scores = tables.queue, tables.scores
    with tracker.sql_recorder.engine.begin() as conn:
        entry = conn.execute(
            select(queue.c.id).where(queue.c.status == "pending", queue.c.assigned_to_agent_id.is_(None)).limit(1)
        ).scalar_one()
        score = conn.execute(select(scores.c.id).order_by(scores.c.id).limit(1)).scalar_one()
        conn.execute(update(queue).where(queue.c.id == entry).values(status="assigned", assigned_to_agent_id=3))
        conn.execute(delete(scores).where(scores.c.id == score))
        conn.execute(tables.conversions.insert().values(**foreign_conversion()))
    return {"call_queue": str(entry), "user_call_scores": str(score), "conversions": "prisma-conv-1"}


def foreign_conversion() -> dict[str, Any]:
    return {
        "id": "prisma-conv-1",
        "user_id": 10001,
        "previous_queue_type": "unsigned_users",
        "conversion_type": "signed",
        "total_call_attempts": 0,
        "converted_at": WHEN,
        "signature_obtained": False,
    }


def count(tracker: ConversionTracker, table: Table, **where: Any) -> int:
    with tracker.sql_recorder.engine.connect() as conn:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return int(conn.execute(query).scalar() or 0)


def some_commands(tracker: ConversionTracker) -> None:
    tracker.execute(commands.RecordCallAttempt(user_id=10005, agent_id=2, outcome="answered"))
    tracker.execute(commands.Enqueue(user_id=10006, queue_type="outstanding_requests", reason="docs"))
    tracker.execute(commands.RecordCallAttempt(user_id=10006, agent_id=4, outcome="busy"))
    ProjectionRunner(tracker, open_live_tables(tracker)).run_once()


def test_verify_live_is_the_cut_over_phase_s_own_rule() -> None:
    assert key_for("verify", "verify", {"live": True}) == ("verify-live", "verify --live")
    assert key_for("verify", "verify", {"live": False}) == ("verify", "verify")


@pytest.mark.slow
def test_verify_live_reports_foreign_writes_and_rebuild_keeps_them_until_told_to_discard(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bring_to(database_url, Phase.CUT_OVER, users=12)
    tracker = open_tracker(Settings(database_url=database_url))
    some_commands(tracker)
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", database_url)
    reports = ["--reports-dir", str(tmp_path)]

    code, out, err = run_cli(["verify", "--live", *reports], monkeypatch, capsys)
    assert code == 0, (out, err)
    assert "verify --live passed" in out

    touched = write_from_outside(tracker)
    code, out, err = run_cli(["verify", "--live", *reports], monkeypatch, capsys)
    assert code == 8, (out, err)
    assert "3 live rows differ" in err and "call_queue 1" in err and "conversions 1" in err, err
    report = json.loads((tmp_path / "verify-live-latest.json").read_text(encoding="utf-8"))
    found = {(d["table"], d["id"]): d for d in report["differences"]}
    assert set(found) == set(touched.items())
    assert found["call_queue", touched["call_queue"]]["columns"] == ["status", "assigned_to_agent_id"]
    assert found["call_queue", touched["call_queue"]]["live"]["status"] == "'assigned'"
    assert found["conversions", "prisma-conv-1"]["kind"] == "only in the live table"
    assert found["user_call_scores", touched["user_call_scores"]]["kind"] == "only in the events"
    assert touched["call_queue"] in out and "prisma-conv-1" in out
    assert "prisma-conv-1" in (tmp_path / "verify-live-latest.md").read_text(encoding="utf-8")

    code, out, err = run_cli(["rebuild"], monkeypatch, capsys)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 5 and len(errors) == 1, (out, err)
    assert "3 live rows differ" in errors[0] and "verify --live" in errors[0]
    tables = live_tables(tracker)
    assert count(tracker, tables.conversions, id="prisma-conv-1") == 1
    assert count(tracker, tables.queue, id=touched["call_queue"], status="assigned") == 1
    assert count(tracker, tables.scores, id=touched["user_call_scores"]) == 0

    code, out, err = run_cli(["rebuild", "--discard-foreign-writes"], monkeypatch, capsys)
    assert code == 0, (out, err)
    assert count(tracker, tables.conversions, id="prisma-conv-1") == 0
    assert count(tracker, tables.scores, id=touched["user_call_scores"]) == 1
    code, out, err = run_cli(["verify", "--live", *reports], monkeypatch, capsys)
    assert code == 0, (out, err)


def test_verify_live_is_refused_before_cutover(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    record_phase(database_url, Phase.BOOTSTRAPPED)
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", database_url)
    code, out, err = run_cli(["verify", "--live"], monkeypatch, capsys)
    assert code == 5 and "verify --live is not possible in phase bootstrapped" in err, (out, err)


def test_the_live_follower_warns_when_a_write_meets_a_row_the_events_never_made(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = record_phase(database_url, Phase.CUT_OVER)
    tables = open_live_tables(tracker)
    follower = ProjectionRunner(tracker, tables)
    tracker.execute(commands.Enqueue(user_id=7, queue_type="unsigned_users", entry_id="ours-1"))
    follower.run_once()
    foreign = {"user_id": 8, "queue_type": "unsigned_users", "priority_score": 0, "status": "pending"}
    with tracker.sql_recorder.engine.begin() as conn:
        conn.execute(tables.queue.insert().values(id="prisma-1", created_at=WHEN, updated_at=WHEN, **foreign))
        conn.execute(delete(tables.queue).where(tables.queue.c.id == "ours-1"))
    tracker.execute(commands.Enqueue(user_id=8, queue_type="outstanding_requests", entry_id="prisma-1"))
    tracker.execute(commands.ScheduleCallback(entry_id="ours-1", scheduled_for=WHEN))
    with caplog.at_level(logging.WARNING, logger="infrastructure.projections.runner"):
        follower.run_once()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("call_queue" in w and "insert met existing rows" in w and "prisma-1" in w for w in warnings), warnings
    assert any("call_queue" in w and "update found no row" in w and "ours-1" in w for w in warnings), warnings
    assert follower.stats.foreign_rows == 2, warnings


def test_a_foreign_row_that_blocks_the_follower_is_listed_and_rebuild_refuses_until_told_to_discard(
    database_url: str,
) -> None:
    """A score row Prisma created for a user the events create later: the user's first call
    meets it on the unique user_id (SQLite: the follower stops; MariaDB: the upsert takes the
    row over, with a warning); verify --live names the row, rebuild refuses to swap over
    it, and with --discard-foreign-writes replaces it by what the events say."""
    tracker = record_phase(database_url, Phase.CUT_OVER)
    tables = open_live_tables(tracker)
    follower = ProjectionRunner(tracker, tables)
    prisma = {"user_id": 77, "current_score": 40, "total_attempts": 3, "created_at": WHEN, "updated_at": WHEN}
    with tracker.sql_recorder.engine.begin() as conn:
        conn.execute(tables.scores.insert().values(id="prisma-score-77", **prisma))
    tracker.execute(commands.RecordCallAttempt(user_id=77, agent_id=1, outcome="answered"))
    if database_url.startswith("sqlite"):  # the upsert conflicts on the unique user_id: the follower stops
        with pytest.raises(ProjectionFailed):
            follower.run_once()
    else:  # MariaDB's upsert updates the row whose user_id matches (keeping Prisma's id): said
        follower.run_once()
        assert follower.stats.foreign_rows == 1
    found = check_live(tracker)
    assert ("user_call_scores", "prisma-score-77", "only in the live table") in [
        (row.table, row.id, row.kind) for row in found.rows
    ]
    with pytest.raises(OperationRefused, match="verify --live"):
        rebuild(tracker)
    assert count(tracker, tables.scores, id="prisma-score-77") == 1
    rebuild(tracker, discard_foreign_writes=True)
    assert count(tracker, tables.scores, id="prisma-score-77") == 0
    assert count(tracker, tables.scores, user_id=77) == 1
    assert check_live(tracker).total == 0
