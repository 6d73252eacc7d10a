"""The projected tables are exactly what the guide's SQL produces from the legacy schema."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect

from infrastructure.database import make_engine
from infrastructure.projections.tables import TableNames, create_projection_tables
from tests.support.mariadb_server import MariaDBServer
from tests.support.sql_script import fixture_sql, run_script


def show_create(server: MariaDBServer, database: str, table: str) -> str:
    with server.root() as conn, conn.cursor() as cursor:
        cursor.execute(f"SHOW CREATE TABLE `{database}`.`{table}`")
        return str(cursor.fetchone()[1])


def agents_only_database(server: MariaDBServer) -> str:
    """A database with the legacy schema's agents table only (what the projected tables need)."""
    name = server.create_database()
    with server.root() as conn, conn.cursor() as cursor:
        cursor.execute(f"USE `{name}`")
        run_script(cursor, fixture_sql("legacy_schema.sql").split("CREATE TABLE `user_call_scores`")[0])
    return name


@pytest.fixture
def guide_database(mariadb_server: MariaDBServer) -> str:
    """The legacy schema with the guide's migration applied, as the app team would have run it."""
    name = mariadb_server.create_database()
    with mariadb_server.root() as conn, conn.cursor() as cursor:
        cursor.execute(f"USE `{name}`")
        run_script(cursor, fixture_sql("legacy_schema.sql"))
        run_script(cursor, fixture_sql("guide_migration.sql"))
    return name


@pytest.mark.parametrize("table", ["user_call_scores", "call_queue", "conversions"])
def test_show_create_table_of_each_projected_table_equals_the_guides_result(
    mariadb_server: MariaDBServer, guide_database: str, table: str
) -> None:
    ours = agents_only_database(mariadb_server)
    create_projection_tables(make_engine(mariadb_server.url(ours)), TableNames.live(), None)
    assert show_create(mariadb_server, ours, table) == show_create(mariadb_server, guide_database, table)


def test_tables_built_in_staging_match_the_guide_once_moved_to_the_live_database(
    mariadb_server: MariaDBServer, guide_database: str
) -> None:
    from infrastructure.projections.swap import Move, swap_tables

    ours = agents_only_database(mariadb_server)
    engine = make_engine(mariadb_server.url(ours))
    staging = TableNames.staging(engine)
    create_projection_tables(engine, staging, None)
    swap_tables(
        engine,
        [Move(t, staging, TableNames.live()) for t in ("user_call_scores", "call_queue", "conversions")],
    )
    for table in ("user_call_scores", "call_queue", "conversions"):
        assert show_create(mariadb_server, ours, table) == show_create(mariadb_server, guide_database, table)


def test_on_sqlite_the_same_columns_and_indexes_exist(
    sqlite_url: str, mariadb_server: MariaDBServer, guide_database: str
) -> None:
    engine = make_engine(sqlite_url)
    create_projection_tables(engine, TableNames.live(), None)
    reference = inspect(make_engine(mariadb_server.url(guide_database)))
    ours = inspect(engine)
    for table in ("user_call_scores", "call_queue", "conversions"):
        assert [c["name"] for c in ours.get_columns(table)] == [c["name"] for c in reference.get_columns(table)]
        reference_indexes = {
            i["name"]: i["column_names"] for i in reference.get_indexes(table) if not re.search(r"_fkey$", i["name"])
        }
        assert {i["name"]: i["column_names"] for i in ours.get_indexes(table)} == reference_indexes


def test_a_table_build_killed_between_its_create_and_its_alters_is_built_again_whole(
    mariadb_server: MariaDBServer,
) -> None:
    """MySQL DDL commits statement by statement: a kill after the CREATE TABLE and before
    the guide's ALTERs leaves a half-built table, which must not be taken for a finished one."""
    ours = agents_only_database(mariadb_server)
    engine = make_engine(mariadb_server.url(ours))
    staging = TableNames.staging(engine)
    create_projection_tables(engine, staging, None)
    whole = show_create(mariadb_server, staging.schema or "", "call_queue")
    with mariadb_server.root() as conn, conn.cursor() as cursor:  # what a kill mid-build leaves
        cursor.execute(f"DROP TABLE `{staging.schema}`.`call_queue`")
        cursor.execute(f"CREATE TABLE `{staging.schema}`.`call_queue_convtrack_building` (id VARCHAR(191))")
    create_projection_tables(engine, staging, None)
    assert show_create(mariadb_server, staging.schema or "", "call_queue") == whole
    assert "call_queue_convtrack_building" not in inspect(engine).get_table_names(schema=staging.schema)
