"""Kept and retired copies that nothing done to the live database can touch (issue 14).

On MariaDB a cascade from the live ``agents`` (``UPDATE agents SET id``, ``DELETE``) leaves
every copy as it was, ``DROP DATABASE`` of the live database succeeds while copies exist,
and a rollback restores the legacy tables' foreign keys exactly (``SHOW CREATE TABLE``
before the cutover equals after the rollback), also when the cutover and the rollback were
killed right after their rename. ``status`` lists the copies and ``drop-copy`` drops them
(not the kept legacy copy while cut over), on both backends."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from bootstrap.cutover import kept_checksums
from bootstrap.legacy_source import MIGRATED_TABLES
from domain.lifecycle import Phase
from infrastructure.database import make_engine
from infrastructure.projections.names import OUTWARD_KEYS
from infrastructure.projections.tables import TableNames
from tests.e2e.test_cutover_killed import kill_at
from tests.support.cutover_state import bootstrap_run, table_rows
from tests.support.lifecycle import bring_to
from tests.support.processes import run_convtrack


def show_create(engine: Engine, schema: str | None = None) -> dict[str, str]:
    where = TableNames(schema=schema)
    with engine.connect() as conn:
        return {
            t: str(conn.exec_driver_sql(f"SHOW CREATE TABLE {where.qualified(t)}").one()[1]) for t in MIGRATED_TABLES
        }


def outward_keys(engine: Engine, schema: str) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT CONSTRAINT_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = :s "
                    "AND REFERENCED_TABLE_SCHEMA IS NOT NULL AND REFERENCED_TABLE_SCHEMA <> :s"
                ),
                {"s": schema},
            ).scalars()
        )


def cascade_from_live_agents(engine: Engine, kept: TableNames) -> None:
    """Change the id of one agent the kept queue names and delete another (with its sessions,
    which restrict the delete)."""
    with engine.connect() as conn:
        agents = conn.exec_driver_sql(
            f"SELECT DISTINCT assigned_to_agent_id FROM {kept.qualified('call_queue')} "
            "WHERE assigned_to_agent_id IS NOT NULL ORDER BY 1 LIMIT 2"
        ).scalars()
        changed, deleted = list(agents)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE agents SET id = 1000 WHERE id = {int(changed)}")
        conn.exec_driver_sql(f"DELETE FROM call_sessions WHERE agent_id = {int(deleted)}")
        conn.exec_driver_sql(f"DELETE FROM agents WHERE id = {int(deleted)}")


def test_a_cascade_from_live_agents_leaves_the_copies_and_rollback_restores_the_keys_exactly(mariadb_url: str) -> None:
    bring_to(mariadb_url, Phase.NOT_BOOTSTRAPPED)
    engine = make_engine(mariadb_url)
    before = show_create(engine)
    bring_to(mariadb_url, Phase.CUT_OVER)
    kept = TableNames.sibling(engine, bootstrap_run(mariadb_url).legacy_label or "")
    assert kept.schema and outward_keys(engine, kept.schema) == []
    checksums = kept_checksums(engine, kept)
    rows = table_rows(engine, kept, "call_queue")

    cascade_from_live_agents(engine, kept)
    assert kept_checksums(engine, kept) == checksums and table_rows(engine, kept, "call_queue") == rows

    back = run_convtrack(mariadb_url, "rollback", "--yes")
    assert back.returncode == 0, back.stderr
    assert show_create(engine) == before, "the legacy tables' keys are back, exactly"
    with engine.connect() as conn:
        databases = set(conn.exec_driver_sql("SHOW DATABASES").scalars())
    assert kept.schema not in databases, "the emptied kept database is gone"
    rolled = TableNames.sibling(engine, bootstrap_run(mariadb_url).history[-1]["rollback"])
    assert rolled.schema and outward_keys(engine, rolled.schema) == []
    engine.dispose()


@pytest.mark.slow
def test_the_live_database_can_be_dropped_while_copies_exist(mariadb_url: str) -> None:
    bring_to(mariadb_url, Phase.CUT_OVER)
    rebuilt = run_convtrack(mariadb_url, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    engine = make_engine(mariadb_url)
    run = bootstrap_run(mariadb_url)
    kept = TableNames.sibling(engine, run.legacy_label or "")
    copies = json.loads(run_convtrack(mariadb_url, "status", "--json").stdout)["copies"]
    assert sorted(c["kind"] for c in copies) == ["kept", "retired"]
    retired = TableNames.sibling(engine, next(c["label"] for c in copies if c["kind"] == "retired"))
    assert retired.schema and outward_keys(engine, retired.schema) == []
    checksums = kept_checksums(engine, kept)
    retired_rows = table_rows(engine, retired, "conversions")

    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE `{engine.url.database}`")  # error 1451 while copies named agents
    engine.dispose()
    elsewhere = make_engine(engine.url.set(database=kept.schema).render_as_string(hide_password=False))
    assert kept_checksums(elsewhere, kept) == checksums
    assert table_rows(elsewhere, retired, "conversions") == retired_rows
    elsewhere.dispose()


@pytest.mark.slow
def test_a_cutover_and_a_rollback_killed_after_their_rename_end_isolated_and_restored_exactly(
    mariadb_url: str,
) -> None:
    bring_to(mariadb_url, Phase.NOT_BOOTSTRAPPED)
    engine = make_engine(mariadb_url)
    before = show_create(engine)
    bring_to(mariadb_url, Phase.BOOTSTRAPPED)
    kill_at(mariadb_url, "after-rename", "cutover", "--yes")
    finished = run_convtrack(mariadb_url, "cutover", "--yes")
    assert finished.returncode == 0, finished.stderr
    kept = TableNames.sibling(engine, bootstrap_run(mariadb_url).legacy_label or "")
    assert kept.schema and outward_keys(engine, kept.schema) == []
    with engine.connect() as conn:
        recorded = conn.exec_driver_sql(f"SELECT COUNT(*) FROM `{kept.schema}`.`{OUTWARD_KEYS}`").scalar()
    assert recorded == 1, "call_queue's key to agents, recorded once"

    kill_at(mariadb_url, "after-rename", "rollback", "--yes")
    finished = run_convtrack(mariadb_url, "rollback", "--yes")
    assert finished.returncode == 0, finished.stderr
    assert show_create(engine) == before
    rolled = TableNames.sibling(engine, bootstrap_run(mariadb_url).history[-1]["rollback"])
    assert rolled.schema and outward_keys(engine, rolled.schema) == []
    engine.dispose()


@pytest.mark.slow
def test_status_lists_the_copies_and_drop_copy_drops_them_but_not_the_kept_legacy_one_while_cut_over(
    database_url: str,
) -> None:
    bring_to(database_url, Phase.CUT_OVER)
    legacy = bootstrap_run(database_url).legacy_label or ""
    copies = json.loads(run_convtrack(database_url, "status", "--json").stdout)["copies"]
    assert [(c["label"], c["kind"], sorted(c["tables"])) for c in copies] == [(legacy, "kept", sorted(MIGRATED_TABLES))]
    assert f"copy {legacy} (kept): call_queue" in run_convtrack(database_url, "status").stdout
    refused = run_convtrack(database_url, "drop-copy", legacy, "--yes")
    assert refused.returncode == 5 and "rollback" in refused.stderr, refused.stderr
    assert run_convtrack(database_url, "drop-copy", "ct_retired_20200101000000_ab12", "--yes").returncode == 3
    assert run_convtrack(database_url, "drop-copy", "victim", "--yes").returncode == 2

    assert run_convtrack(database_url, "rollback", "--yes").returncode == 0
    rolled = bootstrap_run(database_url).history[-1]["rollback"]
    copies = json.loads(run_convtrack(database_url, "status", "--json").stdout)["copies"]
    assert [(c["label"], c["kind"]) for c in copies] == [(rolled, "rolled-back")]
    assert copies[0]["tables"]["conversions"] >= 0
    dropped = run_convtrack(database_url, "drop-copy", rolled, "--yes")
    assert dropped.returncode == 0 and f"dropped {rolled}" in dropped.stdout, dropped.stderr
    assert json.loads(run_convtrack(database_url, "status", "--json").stdout)["copies"] == []


def test_on_sqlite_copies_are_not_isolated_a_cascade_reaches_them_as_the_runbook_says(sqlite_url: str) -> None:
    """SQLite cannot drop a foreign key without rebuilding the table; the runbook says so.
    (The generated SQLite legacy tables have no foreign keys; the tracker's tables do.)"""
    bring_to(sqlite_url, Phase.ROLLED_BACK)
    engine = make_engine(sqlite_url)
    kept = TableNames.sibling(engine, bootstrap_run(sqlite_url).history[-1]["rollback"])
    with engine.connect() as conn:
        agent = conn.exec_driver_sql(
            f'SELECT MIN(assigned_to_agent_id) FROM "{kept.queue}" WHERE assigned_to_agent_id IS NOT NULL'
        ).scalar()
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE agents SET id = 1000 WHERE id = {int(agent)}")
    with engine.connect() as conn:
        moved = conn.exec_driver_sql(f'SELECT COUNT(*) FROM "{kept.queue}" WHERE assigned_to_agent_id = 1000').scalar()
    assert moved, "PRAGMA foreign_keys=ON: the cascade reaches the prefixed copy"
    engine.dispose()
