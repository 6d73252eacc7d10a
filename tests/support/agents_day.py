"""A day of agents' work between a cutover and a rollback: every kind of command, then
what the legacy tables must hold once rolled back (each change in the legacy shape, every
other row byte for byte, the DDL as before)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from domain import commands
from domain.lifecycle import Phase
from infrastructure.database import is_sqlite, make_engine
from infrastructure.projections.runner import TABLE_OF_MODULE
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import bring_to

CALLED_AT = datetime(2026, 11, 30, 12, 0, 0, 123000)
CALLBACK_AT = datetime(2026, 12, 1, 9, 30, 0, 250000)
NEW_USER = 987654321
AGENT = 3
Rows = dict[str, dict[str, dict[str, Any]]]  # table -> id -> column -> value


@dataclass
class Day:
    before_raw: Rows
    before: Rows
    ddl: dict[str, Any]
    expected: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def raw_rows(engine: Engine) -> Rows:
    """Every legacy row as the driver returns it (SQLite: the stored text)."""
    found: Rows = {}
    with engine.connect() as conn:
        for table in MIGRATED_TABLES:
            result = conn.exec_driver_sql(f"SELECT * FROM {table}")
            found[table] = {str(r._mapping["id"]): dict(r._mapping) for r in result}
    return found


def typed_rows(url: str) -> Rows:
    source = LegacySource(url)
    try:
        with source.snapshot() as conn:
            return {
                t: {str(r["id"]): r for batch in source.batches(conn, t, size=100_000) for r in batch}
                for t in MIGRATED_TABLES
            }
    finally:
        source.close()


def legacy_ddl(engine: Engine) -> dict[str, Any]:
    """MariaDB: SHOW CREATE TABLE. SQLite: the table's and its indexes' SQL, identifiers
    unquoted (SQLite's ALTER TABLE RENAME, which cutover and rollback use, rewrites the
    name it renames as a quoted one; the statement is otherwise the same)."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            return {
                t: [
                    (kind, name, (sql or "").replace('"', ""))
                    for kind, name, sql in conn.exec_driver_sql(
                        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? ORDER BY name", (t,)
                    )
                ]
                for t in MIGRATED_TABLES
            }
        return {t: conn.exec_driver_sql(f"SHOW CREATE TABLE {t}").one()[1] for t in MIGRATED_TABLES}


def prepare(url: str, users: int = 60) -> Day:
    """Legacy tables, their rows and DDL as before the cutover; then bootstrap and cutover."""
    bring_to(url, Phase.NOT_BOOTSTRAPPED, users=users)
    engine = make_engine(url)
    day = Day(raw_rows(engine), typed_rows(url), legacy_ddl(engine))
    engine.dispose()
    bring_to(url, Phase.CUT_OVER)
    return day


def _pick(day: Day) -> dict[str, Any]:
    queue = sorted(day.before["call_queue"].values(), key=lambda r: r["id"])
    plain = [
        r for r in queue if r["status"] == "pending" and r["queue_type"] in {"unsigned_users", "outstanding_requests"}
    ]
    callbacks = [r for r in queue if r["status"] == "pending" and r["queue_type"] == "callback"]
    assert len(plain) >= 4 and callbacks, "the generated legacy data has pending entries of each kind"
    taken = {r["user_id"] for r in plain[:4] + callbacks[:1]}
    scores = [
        r for r in sorted(day.before["user_call_scores"].values(), key=lambda r: r["id"]) if r["user_id"] not in taken
    ]
    return {"entries": plain[:4], "callback": callbacks[0], "scorer": scores[0], "converter": scores[1]}


def work(url: str, day: Day) -> None:
    """Every kind of command, through the service layer; fills ``day.expected``."""
    picked = _pick(day)
    tracker = open_tracker(Settings(database_url=url))
    try:
        _score_work(tracker, day, picked["scorer"])
        _queue_work(tracker, day, picked)
        _conversion_work(tracker, day, picked["converter"])
    finally:
        tracker.sql_recorder.close()


def _score_work(tracker: Any, day: Day, scorer: dict[str, Any]) -> None:
    user = int(scorer["user_id"])
    tracker.execute(commands.RecordCallAttempt(user_id=user, agent_id=AGENT, outcome="answered", called_at=CALLED_AT))
    tracker.execute(commands.ResetScore(user_id=user, reason="new campaign"))
    day.expected[("user_call_scores", scorer["id"])] = {
        "current_score": 0,
        "total_attempts": min(int(scorer["total_attempts"]) + 1, 2**31 - 1),
        "last_call_outcome": "answered",
        "last_call_at": CALLED_AT,
        "created_at": scorer["created_at"],
        "referral_code": scorer["referral_code"],
    }
    first = tracker.execute(
        commands.RecordCallAttempt(user_id=NEW_USER, agent_id=AGENT, outcome="no_answer", called_at=CALLED_AT)
    )
    day.expected[("user_call_scores", first.ids["score_id"])] = {
        "user_id": NEW_USER,
        "total_attempts": 1,
        "last_call_outcome": "no_answer",
        "last_call_at": CALLED_AT,
        "referral_code": None,
    }


def _queue_work(tracker: Any, day: Day, picked: dict[str, Any]) -> None:
    scheduled, assigned, completed, cancelled = picked["entries"]
    when = CALLBACK_AT.replace(tzinfo=UTC)
    tracker.execute(commands.ScheduleCallback(entry_id=scheduled["id"], scheduled_for=when, reason="call at 9"))
    tracker.execute(commands.Assign(entry_id=assigned["id"], agent_id=AGENT))
    tracker.execute(commands.Complete(entry_id=completed["id"], reason="done"))
    tracker.execute(commands.Cancel(entry_id=cancelled["id"], reason="duplicate"))
    tracker.execute(commands.ClearCallback(entry_id=picked["callback"]["id"], reason="reached"))
    expected = {
        scheduled["id"]: {
            "queue_type": "callback",
            "scheduled_for": CALLBACK_AT,
            "queue_reason": scheduled["queue_reason"],
        },
        assigned["id"]: {"status": "assigned", "assigned_to_agent_id": AGENT, "queue_type": assigned["queue_type"]},
        completed["id"]: {"status": "completed", "queue_type": completed["queue_type"]},
        cancelled["id"]: {"status": "cancelled", "queue_type": cancelled["queue_type"]},
        picked["callback"]["id"]: {"queue_type": "outstanding_requests", "scheduled_for": None, "status": "pending"},
    }
    user = int(picked["scorer"]["user_id"])
    tracker.execute(
        commands.Enqueue(
            user_id=user, queue_type="unsigned_users", priority_score=5, reason="came back", entry_id="wb-new-1"
        )
    )
    tracker.execute(commands.Enqueue(user_id=NEW_USER, queue_type="outstanding_requests", entry_id="wb-new-2"))
    tracker.execute(commands.ScheduleCallback(entry_id="wb-new-2", scheduled_for=when))
    expected["wb-new-1"] = {
        "user_id": user,
        "queue_type": "unsigned_users",
        "priority_score": 5,
        "status": "pending",
        "queue_reason": "came back",
        "scheduled_for": None,
    }
    expected["wb-new-2"] = {
        "user_id": NEW_USER,
        "queue_type": "callback",
        "scheduled_for": CALLBACK_AT,
        "status": "pending",
    }
    day.expected.update({("call_queue", row_id): values for row_id, values in expected.items()})


def _conversion_work(tracker: Any, day: Day, converter: dict[str, Any]) -> None:
    done = tracker.execute(
        commands.RecordConversion(user_id=int(converter["user_id"]), conversion_type="signed", claim_value="10.50")
    )
    tracker.execute(commands.ReverseConversion(conversion_id=done.ids["conversion_id"], reason="withdrew"))
    day.expected[("user_call_scores", converter["id"])] = {
        "current_score": converter["current_score"],
        "created_at": converter["created_at"],
    }


def touched_since_cutover(url: str) -> dict[str, set[str]]:
    """The legacy rows some event since the cutover changes (from the event log)."""
    tracker = open_tracker(Settings(database_url=url))
    try:
        run = tracker.bootstrap_run()
        assert run is not None and run.cutover_position is not None
        touched: dict[str, set[str]] = {t: set() for t in MIGRATED_TABLES}
        for notification in tracker.sql_recorder.select_notifications(
            run.cutover_position, 100_000, inclusive_of_start=False
        ):
            logical = TABLE_OF_MODULE.get(notification.topic.partition(":")[0])
            if logical in touched:
                change = tracker.mapper.to_domain_event(notification).row_change()
                if change.kind != "none":
                    touched[logical].add(change.row_id)
        return touched
    finally:
        tracker.sql_recorder.close()


def check_rolled_back(url: str, day: Day, touched: dict[str, set[str]]) -> None:
    """Each change is in the legacy rows; every other row and the DDL are as before."""
    engine = make_engine(url)
    try:
        assert legacy_ddl(engine) == day.ddl
        raw = raw_rows(engine)
    finally:
        engine.dispose()
    after = typed_rows(url)
    for (table, row_id), values in day.expected.items():
        assert row_id in touched[table], (table, row_id)
        row = after[table][row_id]
        assert {k: row[k] for k in values} == values, (table, row_id)
        if row_id in day.before[table]:
            assert row["updated_at"] != day.before[table][row_id]["updated_at"], (table, row_id)
    for table in MIGRATED_TABLES:
        assert set(raw[table]) == set(day.before_raw[table]) | touched[table]
        untouched = {i: r for i, r in raw[table].items() if i not in touched[table]}
        assert untouched == {i: r for i, r in day.before_raw[table].items() if i not in touched[table]}
        assert len(untouched) > len(touched[table]), "most rows were not touched"
