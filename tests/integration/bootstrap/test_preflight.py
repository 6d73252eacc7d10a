"""What would stop the bootstrap is found before it writes anything: ``assess`` names the
rows or columns, ``bootstrap`` refuses with one line (exit 5) and leaves no event and no
table behind, and once the data is fixed the bootstrap runs and verify passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from bootstrap.assess import assess
from bootstrap.bootstrapper import Bootstrapper
from bootstrap.legacy_source import LegacySource
from bootstrap.preflight import refuse_if_triggers
from bootstrap.sample_data import generate
from domain.errors import OperationRefused
from domain.lifecycle import Phase
from infrastructure.database import is_sqlite, make_engine
from infrastructure.projections.runner import ProjectionFailed
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker, read_lifecycle
from tests.support.processes import run_convtrack

USERS = 100


def legacy(url: str) -> dict[str, str]:
    """A small generated legacy database; the ids the cases break: the first queue row
    (``q``), the first callback row (``c``), the first score row (``s``) and its user (``u``)."""
    engine = make_engine(url)
    generate(engine, users=USERS, seed=5)
    with engine.connect() as conn:
        first = {
            "q": conn.execute(text("SELECT MIN(id) FROM call_queue")).scalar_one(),
            "c": conn.execute(text("SELECT MIN(id) FROM call_queue WHERE queue_type = 'callback'")).scalar_one(),
            "s": conn.execute(text("SELECT MIN(id) FROM user_call_scores")).scalar_one(),
        }
        first["u"] = conn.execute(text("SELECT user_id FROM user_call_scores WHERE id = :s"), first).scalar_one()
    engine.dispose()
    return {k: str(v) for k, v in first.items()}


def run_sql(url: str, statements: list[str], ids: dict[str, str]) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        if not is_sqlite(engine):
            conn.exec_driver_sql("SET SESSION sql_mode = '', foreign_key_checks = 0")
        for statement in statements:
            conn.exec_driver_sql(statement.format(**ids))
    engine.dispose()


def everything(url: str) -> tuple[set[str], set[str]]:
    """The tables of the database and the names of its sibling databases (staging, kept)."""
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        if is_sqlite(engine):
            return tables, set()
        with engine.connect() as conn:
            found = conn.execute(text("SHOW DATABASES LIKE :p"), {"p": f"{engine.url.database}_ct_%"}).scalars()
            siblings = {str(n) for n in found}
        return tables, siblings
    finally:
        engine.dispose()


def assert_refused_before_anything(url: str, fragments: list[str]) -> None:
    before = everything(url)
    assert "stored_events" not in before[0]
    refused = run_convtrack(url, "bootstrap")
    assert refused.returncode == 5, refused.stdout + refused.stderr
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in refused.stderr and len(errors) == 1, refused.stderr
    for fragment in fragments:
        assert fragment in refused.stderr, refused.stderr
    assert everything(url) == before, "no event, no table, no staging database"
    dry = run_convtrack(url, "bootstrap", "--dry-run")
    assert dry.returncode == 5 and fragments[0] in dry.stderr, dry.stderr
    assert everything(url) == before


def assert_assess_names(url: str, fragments: list[str]) -> None:
    found = " | ".join(assess(LegacySource(url)).blockers)
    for fragment in fragments:
        assert fragment in found, found


TYPES = {
    "c_bit": "BIT(1)",
    "c_time": "TIME",
    "c_year": "YEAR",
    "c_inet6": "INET6",
    "c_uuid": "UUID",
    "c_point": "POINT",
    "c_zerofill": "INT(10) UNSIGNED ZEROFILL",
}
ON_MARIADB = {
    "a NULL queue_type": (
        [
            "ALTER TABLE call_queue MODIFY queue_type VARCHAR(191) NULL",
            "UPDATE call_queue SET queue_type = NULL WHERE id = '{q}'",
        ],
        ["1 call_queue rows have no queue_type (ids {q})"],
    ),
    "a duplicate user_id (unique index dropped)": (
        [
            "ALTER TABLE user_call_scores DROP INDEX user_call_scores_user_id_key",
            "INSERT INTO user_call_scores (id, user_id, current_score, total_attempts, created_at, updated_at) "
            "SELECT CONCAT(id, '-copy'), user_id, current_score, total_attempts, created_at, updated_at "
            "FROM user_call_scores WHERE id = '{s}'",
        ],
        ["1 user_ids have several user_call_scores rows (user_ids {u})"],
    ),
    "an agent with no agents row (FK checks off)": (
        ["UPDATE call_queue SET assigned_to_agent_id = 999 WHERE id = '{q}'"],
        ["1 call_queue rows name an agent with no agents row (ids {q}; agents 999)"],
    ),
    "a 3M-character queue_reason on a callback row": (
        [
            "ALTER TABLE call_queue MODIFY queue_reason LONGTEXT NULL",
            "UPDATE call_queue SET queue_reason = REPEAT('x', 3000000) WHERE id = '{c}'",
        ],
        ["1 callback rows have a queue_reason over 65,535 bytes (ids {c})"],
    ),
    "a zero date": (
        ["UPDATE call_queue SET assigned_at = '0000-00-00 00:00:00' WHERE id = '{q}'"],
        ["1 call_queue rows have a zero or pre-1000 assigned_at (ids {q})"],
    ),
    "a DATETIME(6) created_at": (
        ["ALTER TABLE user_call_scores MODIFY created_at DATETIME(6) NOT NULL"],
        ["user_call_scores.created_at is datetime(6): the tracker keeps milliseconds"],
    ),
    "BIT, TIME, YEAR, INET6, UUID, POINT and UNSIGNED ZEROFILL columns": (
        ["ALTER TABLE call_queue " + ", ".join(f"ADD COLUMN {n} {t} NULL" for n, t in TYPES.items())],
        [f"call_queue.{n} is {t.lower()}" for n, t in TYPES.items() if n not in {"c_year"}]
        + ["call_queue.c_year is year"],
    ),
    "a trigger on call_queue": (
        ["CREATE TRIGGER call_queue_touch BEFORE UPDATE ON call_queue FOR EACH ROW SET NEW.updated_at = NOW(3)"],
        ["trigger call_queue_touch on call_queue"],
    ),
    "a dropped call_queue.user_id column": (
        ["ALTER TABLE call_queue DROP COLUMN user_id"],
        ["call_queue has no user_id column"],
    ),
}


def assert_blocker_named_and_refused(url: str, statements: list[str], fragments: list[str]) -> None:
    """The legacy data broken by ``statements``: assess names each of ``fragments`` and the
    bootstrap refuses before it writes anything."""
    ids = legacy(url)
    run_sql(url, statements, ids)
    expected = [f.format(**ids) for f in fragments]
    assert_assess_names(url, expected)
    assert_refused_before_anything(url, expected)


@pytest.mark.parametrize("case", list(ON_MARIADB))
def test_assess_names_what_would_stop_the_bootstrap_and_the_bootstrap_refuses_before_anything(
    case: str, mariadb_url: str
) -> None:
    assert_blocker_named_and_refused(mariadb_url, *ON_MARIADB[case])


ON_SQLITE = {
    "a duplicate user_id": (
        [
            "INSERT INTO user_call_scores (id, user_id, current_score, total_attempts, created_at, updated_at) "
            "SELECT id || '-copy', user_id, current_score, total_attempts, created_at, updated_at "
            "FROM user_call_scores WHERE id = '{s}'"
        ],
        ["1 user_ids have several user_call_scores rows (user_ids {u})"],
    ),
    "an agent with no agents row": (
        ["UPDATE call_queue SET assigned_to_agent_id = 999 WHERE id = '{q}'"],
        ["1 call_queue rows name an agent with no agents row (ids {q}; agents 999)"],
    ),
    "BIT and TIME columns": (
        ["ALTER TABLE call_queue ADD COLUMN c_bit BIT", "ALTER TABLE call_queue ADD COLUMN c_time TIME"],
        ["call_queue.c_bit is bit", "call_queue.c_time is time"],
    ),
}


@pytest.mark.parametrize("case", list(ON_SQLITE))
def test_on_sqlite_too(case: str, sqlite_url: str) -> None:
    assert_blocker_named_and_refused(sqlite_url, *ON_SQLITE[case])


def test_assess_reports_blockers_on_the_command_line_without_a_traceback(mariadb_url: str) -> None:
    ids = legacy(mariadb_url)
    run_sql(mariadb_url, ON_MARIADB["BIT, TIME, YEAR, INET6, UUID, POINT and UNSIGNED ZEROFILL columns"][0], ids)
    tables = run_convtrack(mariadb_url, "assess")
    assert tables.returncode == 0, tables.stderr
    assert "blocker:" in tables.stdout and "the bootstrap refuses until" in tables.stdout
    as_json = run_convtrack(mariadb_url, "assess", "--json")
    assert as_json.returncode == 0 and "call_queue.c_point is point" in as_json.stdout, as_json.stderr


def test_a_trigger_added_after_the_bootstrap_makes_cutover_refuse_by_name_and_rename_nothing(mariadb_url: str) -> None:
    ids = legacy(mariadb_url)
    Bootstrapper(open_tracker(Settings(database_url=mariadb_url)), LegacySource(mariadb_url)).run()
    run_sql(mariadb_url, ON_MARIADB["a trigger on call_queue"][0], ids)
    before = everything(mariadb_url)
    refused = run_convtrack(mariadb_url, "cutover", "--yes")
    assert refused.returncode == 5, refused.stdout + refused.stderr
    assert "trigger call_queue_touch on call_queue" in refused.stderr
    assert everything(mariadb_url) == before
    assert read_lifecycle(Settings(database_url=mariadb_url)).phase is Phase.BOOTSTRAPPED
    with pytest.raises(OperationRefused, match="trigger call_queue_touch on call_queue"):
        refuse_if_triggers(make_engine(mariadb_url))


@pytest.mark.slow
def test_a_refused_bootstrap_runs_once_the_data_is_fixed_and_verify_passes(database_url: str, tmp_path: Path) -> None:
    ids = legacy(database_url)
    run_sql(database_url, ["UPDATE call_queue SET assigned_to_agent_id = 999 WHERE id = '{q}'"], ids)
    assert_refused_before_anything(database_url, [f"(ids {ids['q']}; agents 999)"])
    run_sql(
        database_url,
        [
            "INSERT INTO agents (id, name, email, is_active, created_at) "
            "VALUES (999, 'Late', 'late@example.com', 1, '2024-01-01 00:00:00.000')"
        ],
        ids,
    )
    assert not assess(LegacySource(database_url)).blockers
    done = run_convtrack(database_url, "bootstrap")
    assert done.returncode == 0, done.stderr
    verified = run_convtrack(database_url, "verify", "--reports-dir", str(tmp_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.slow
def test_a_bootstrap_stopped_by_bad_data_after_it_started_resumes_once_the_data_is_fixed(
    database_url: str, tmp_path: Path
) -> None:
    """The preflight passed, then an agent went missing: the staging rows stop at the
    foreign key (exit 7: the projection on SQLite, the server path's staging insert on
    MariaDB), the run is not completed, and a rerun after the agent is back finishes it."""
    ids = legacy(database_url)
    settings = Settings(database_url=database_url)
    bootstrapper = Bootstrapper(open_tracker(settings), LegacySource(database_url))
    plan = bootstrapper.plan()
    run_sql(database_url, ["UPDATE call_queue SET assigned_to_agent_id = 999 WHERE id = '{q}'"], ids)
    with pytest.raises(ProjectionFailed, match="(FOREIGN KEY|foreign key) constraint fail"):
        bootstrapper.run(plan=plan)
    assert read_lifecycle(settings).phase is Phase.BOOTSTRAPPING
    run_sql(
        database_url,
        [
            "INSERT INTO agents (id, name, email, is_active, created_at) "
            "VALUES (999, 'Late', 'late@example.com', 1, '2024-01-01 00:00:00.000')"
        ],
        ids,
    )
    done = run_convtrack(database_url, "bootstrap")
    assert done.returncode == 0, done.stderr
    verified = run_convtrack(database_url, "verify", "--reports-dir", str(tmp_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
