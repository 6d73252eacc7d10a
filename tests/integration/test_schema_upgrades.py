"""The tracker's own schema under Alembic (infrastructure/migrations): a database made
before Alembic is adopted and upgraded with its events intact, the runtime tables equal
the migrations' head, an up-to-date database is left alone, and two processes upgrading
at once apply a migration once."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from eventsourcing.persistence import StoredEvent
from sqlalchemy import Engine, MetaData, inspect, make_url, text

from domain.bootstrap_run import BootstrapRun
from domain.errors import OperationRefused
from domain.lifecycle import Phase
from infrastructure.api import api_keys
from infrastructure.application import ConversionTracker
from infrastructure.database import is_sqlite, make_engine
from infrastructure.event_store.recorder import SqlEventRecorder
from infrastructure.event_store.tables import event_store_tables
from infrastructure.migrations.upgrade import (
    HEAD,
    VERSION_TABLE,
    alembic_config,
    known_revisions,
    recorded_revision,
    schema_state,
    upgrade,
)
from infrastructure.projections import tracking
from infrastructure.settings import Settings
from infrastructure.wiring import open_recorder, read_lifecycle
from tests.support.db_state import database_state
from tests.support.in_process_cli import run_cli
from tests.support.sql_script import fixture_sql, statements

EVENTS = "tracker_events"  # CONVTRACK_EVENTS_TABLE, not the default: the name reaches the migrations
THROWAWAY = "9001_throwaway"


def make_pre_alembic_schema(url: str, events_table: str = EVENTS) -> Engine:
    """The tables exactly as convtrack made them at 270ff69 (dumped from a real run)."""
    engine = make_engine(url)
    sql = fixture_sql(f"pre_alembic_{'sqlite' if is_sqlite(engine) else 'mariadb'}.sql")
    with engine.begin() as conn:
        for statement in statements(sql.replace("stored_events", events_table)):
            conn.exec_driver_sql(statement)
    return engine


def runtime_metadata(events_table: str) -> MetaData:
    """Every table the code reads and writes, as the code defines it today."""
    metadata = MetaData()
    event_store_tables(metadata, events_table)
    for table in [*tracking.metadata.tables.values(), *api_keys.metadata.tables.values()]:
        table.to_metadata(metadata)
    return metadata


def differences_from_code(engine: Engine, events_table: str) -> list[object]:
    ours = set(runtime_metadata(events_table).tables)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_name": lambda name, kind, _: kind != "table" or name in ours},
        )
        return list(compare_metadata(context, runtime_metadata(events_table)))


def test_head_is_the_one_newest_revision_shipped() -> None:
    """Two branches adding a revision each to the same parent make two heads: merge them."""
    assert ScriptDirectory.from_config(alembic_config("stored_events")).get_heads() == [HEAD]
    revisions = known_revisions()
    assert revisions[0][0] == HEAD and revisions[-1] == ("0001_baseline", None, revisions[-1][2])


def test_a_database_made_before_alembic_is_upgraded_and_its_events_and_phase_read_back(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_pre_alembic_schema(database_url)
    recorder = SqlEventRecorder(engine, EVENTS)  # no create_tables: writes as the old code did
    run = BootstrapRun.start(
        bootstrap_time=datetime(2026, 11, 30, 8, 15, 1, 123000), legacy_checksums={}, legacy_counts={}
    )
    ConversionTracker(recorder).save(run)
    other = StoredEvent(originator_id=uuid4(), originator_version=1, topic="tests:Other", state=bytes(range(256)) * 300)
    recorder.insert_events([other])
    with engine.begin() as conn:
        conn.execute(tracking.tracking_table.insert().values(name="live", position=2, updated_at=run.created_on))
    written = recorder.select_notifications(start=1, limit=10)
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", database_url)
    monkeypatch.setenv("CONVTRACK_EVENTS_TABLE", EVENTS)
    settings = Settings()

    before = database_state(database_url)
    code, out, _ = run_cli(["status"], monkeypatch, capsys)
    assert code == 0 and "schema: none: tables made before schema versions" in out and "convtrack db upgrade" in out
    assert read_lifecycle(settings).phase is Phase.BOOTSTRAPPING
    assert database_state(database_url) == before, "status and the phase check wrote nothing"

    code, out, err = run_cli(["db", "upgrade"], monkeypatch, capsys)
    assert (code, out, err) == (0, f"schema: upgraded from no version to {HEAD}\n", "")
    assert recorded_revision(engine) == HEAD and differences_from_code(engine, EVENTS) == []
    assert recorder.select_notifications(start=1, limit=10) == written
    assert ConversionTracker(recorder).bootstrap_run().bootstrap_time == run.bootstrap_time  # type: ignore[union-attr]
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT id FROM {EVENTS}_writer")).scalars().all() == [1]
        assert conn.execute(text("SELECT position FROM convtrack_projection_tracking")).scalars().all() == [2]
    assert read_lifecycle(settings).phase is Phase.BOOTSTRAPPING
    code, out, _ = run_cli(["status"], monkeypatch, capsys)
    assert code == 0 and f"schema: {HEAD} (head)" in out and "events: head at position 2" in out

    reopened = open_recorder(settings)  # a command after the upgrade: one SELECT, then writes on
    assert reopened.insert_events([StoredEvent(uuid4(), 1, "tests:Third", b"{}")]) == [3]
    reopened.close()
    engine.dispose()


def test_an_existing_table_that_differs_from_the_baseline_is_refused_and_nothing_is_created(
    database_url: str,
) -> None:
    engine = make_pre_alembic_schema(database_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE convtrack_api_keys")
        conn.exec_driver_sql("DROP TABLE convtrack_projection_lease")
        conn.exec_driver_sql("CREATE TABLE convtrack_projection_lease (name VARCHAR(64) PRIMARY KEY)")
    with pytest.raises(OperationRefused, match="differ from the baseline schema.*expires_at"):
        upgrade(engine, EVENTS)
    assert recorded_revision(engine) is None
    assert not inspect(engine).has_table("convtrack_api_keys")
    assert schema_state(engine, EVENTS).describe().startswith("none: tables made before schema versions")
    engine.dispose()


def test_another_events_table_on_a_database_at_head_is_refused_naming_the_setting(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine, "stored_events")
    before = database_state(database_url)
    with pytest.raises(OperationRefused, match="'other_events' does not exist: CONVTRACK_EVENTS_TABLE"):
        open_recorder(Settings(database_url=database_url, events_table="other_events"))
    assert database_state(database_url) == before
    engine.dispose()


def test_the_runtime_table_definitions_equal_the_migrations_head(database_url: str) -> None:
    """Fails when a Table definition changes without a migration (docs/schema-upgrades.md)."""
    engine = make_engine(database_url)
    assert upgrade(engine, "stored_events") == (None, HEAD)
    assert differences_from_code(engine, "stored_events") == []
    engine.dispose()


def test_db_upgrade_on_an_up_to_date_database_changes_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", database_url)
    assert run_cli(["db", "upgrade"], monkeypatch, capsys)[0] == 0
    before = database_state(database_url)
    assert run_cli(["db", "upgrade"], monkeypatch, capsys) == (
        0,
        f"schema: already at {HEAD} (head); nothing to do\n",
        "",
    )
    assert run_cli(["db", "current"], monkeypatch, capsys) == (0, f"schema: {HEAD} (head)\n", "")
    assert database_state(database_url) == before


THROWAWAY_REVISION = f'''
"""A test-only revision: a column, a table, and a row per time it runs (slowly)."""
import os
import time

import sqlalchemy as sa
from alembic import op

revision = "{THROWAWAY}"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade(events_table: str) -> None:
    op.add_column("convtrack_projection_lease", sa.Column("note", sa.String(20), nullable=True))
    op.create_table("convtrack_throwaway_runs", sa.Column("pid", sa.Integer(), nullable=False))
    op.execute(f"INSERT INTO convtrack_throwaway_runs (pid) VALUES ({{os.getpid()}})")
    op.execute(f"INSERT INTO {{events_table}}_writer (id) VALUES (2)")
    time.sleep(1.5)  # the other process asks meanwhile


def downgrade(events_table: str) -> None:
    raise NotImplementedError
'''

UPGRADER = """
import sys
from pathlib import Path
from infrastructure.database import make_engine
from infrastructure.migrations.upgrade import upgrade
print(upgrade(make_engine(sys.argv[1]), "stored_events", [Path(sys.argv[2])]))
"""


@pytest.mark.slow
def test_two_processes_upgrading_at_once_apply_each_migration_once(database_url: str, tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / f"{THROWAWAY}.py").write_text(textwrap.dedent(THROWAWAY_REVISION), encoding="utf-8")
    if make_url(database_url).get_backend_name() == "sqlite":
        make_engine(database_url).dispose()  # the file exists before both open it
    command = [sys.executable, "-c", UPGRADER, database_url, str(versions)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in "ab"]
    results = [(*p.communicate(timeout=120), p.returncode) for p in processes]

    assert [code for _, _, code in results] == [0, 0], results
    one_upgraded_one_found_it_done = sorted([f"(None, '{THROWAWAY}')", f"('{THROWAWAY}', '{THROWAWAY}')"])
    assert sorted(out.strip() for out, _, _ in results) == one_upgraded_one_found_it_done
    engine = make_engine(database_url)
    with engine.connect() as conn:
        assert len(conn.execute(text("SELECT pid FROM convtrack_throwaway_runs")).all()) == 1
        assert conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == [THROWAWAY]
        assert conn.execute(text("SELECT id FROM stored_events_writer ORDER BY id")).scalars().all() == [1, 2]
    assert "note" in {c["name"] for c in inspect(engine).get_columns("convtrack_projection_lease")}
    with pytest.raises(OperationRefused, match=THROWAWAY):  # this convtrack does not know that revision
        open_recorder(Settings(database_url=database_url))
    engine.dispose()
