"""Each place the guide's SQL loses or misrecords data, run against the guide itself
(the guide's behaviour is asserted too, so each test would fail on it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pytest

from bootstrap.bootstrapper import Bootstrapper
from bootstrap.cutover import cutover, rollback
from bootstrap.legacy_source import LegacySource
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.mariadb_server import MariaDBServer
from tests.support.sql_script import fixture_sql, run_script

T0 = datetime(2024, 3, 1, 9, 30, 15, 250000)
LEGACY_ROWS = [
    "INSERT INTO agents (id, name, email) VALUES (1, 'Ann', 'ann@example.com'), (2, 'Bob', 'bob@example.com')",
    # user 1: only a pending callback entry
    "INSERT INTO user_call_scores (id, user_id, current_score, total_attempts, created_at, updated_at) "
    "VALUES ('s1', 1, 10, 2, '2024-03-01 09:30:15.250', '2024-03-01 10:00:00.000')",
    "INSERT INTO call_queue (id, user_id, queue_type, priority_score, status, queue_reason, created_at, updated_at) "
    "VALUES ('q1', 1, 'callback', 5, 'pending', 'call after 6pm — \"not before\"', '2024-03-01 09:31:00.001', "
    "'2024-03-01 09:31:00.001')",
    # user 2: several pending entries; the first row stored has the lowest priority
    "INSERT INTO user_call_scores (id, user_id, current_score, total_attempts, created_at, updated_at) "
    "VALUES ('s2', 2, 0, 0, '2024-03-02 00:00:00.000', '2024-03-02 00:00:00.000')",
    "INSERT INTO call_queue (id, user_id, queue_type, priority_score, status, created_at, updated_at) VALUES "
    "('a2', 2, 'unsigned_users', 1, 'pending', '2024-03-02 00:00:00.000', '2024-03-02 00:00:00.000'), "
    "('b2', 2, 'callback', 90, 'pending', '2024-03-03 00:00:00.000', '2024-03-03 00:00:00.000'), "
    "('c2', 2, 'outstanding_requests', 90, 'pending', '2024-03-02 12:00:00.000', '2024-03-02 12:00:00.000')",
]


@dataclass
class Migrated:
    server: MariaDBServer
    guide: str
    ours: str

    def query(self, database: str, sql: str) -> list[tuple[object, ...]]:
        with self.server.root() as conn, conn.cursor() as cursor:
            cursor.execute(f"USE `{database}`")
            cursor.execute(sql)
            return list(cursor.fetchall())


def legacy_database(server: MariaDBServer) -> str:
    name = server.create_database()
    with server.root() as conn, conn.cursor() as cursor:
        cursor.execute(f"USE `{name}`")
        run_script(cursor, fixture_sql("legacy_schema.sql"))
        for statement in LEGACY_ROWS:
            cursor.execute(statement)
    return name


@pytest.fixture
def migrated(mariadb_server: MariaDBServer) -> Iterator[Migrated]:
    guide = legacy_database(mariadb_server)
    with mariadb_server.root() as conn, conn.cursor() as cursor:
        cursor.execute(f"USE `{guide}`")
        run_script(cursor, fixture_sql("guide_migration.sql"))
    ours = legacy_database(mariadb_server)
    url = mariadb_server.url(ours)
    tracker = open_tracker(Settings(database_url=url))
    source = LegacySource(url)
    bootstrapper = Bootstrapper(tracker, source)
    bootstrapper.run()
    cutover(tracker, source)
    yield Migrated(mariadb_server, guide, ours)
    for name in (guide, ours):
        mariadb_server.drop_database(name)


def test_reset_dates_are_set_for_every_existing_row(migrated: Migrated) -> None:
    sql = "SELECT id, last_reset_date, last_queue_check, created_at FROM user_call_scores ORDER BY id"
    assert all(r[1] is None and r[2] is None for r in migrated.query(migrated.guide, sql)), "the guide leaves them NULL"
    for _id, reset, checked, created in migrated.query(migrated.ours, sql):
        assert reset == created
        assert checked is not None


def test_no_user_is_left_on_the_callback_queue_type(migrated: Migrated) -> None:
    sql = "SELECT current_queue_type FROM user_call_scores WHERE user_id = 1"
    assert migrated.query(migrated.guide, sql) == [("callback",)], "the guide computes it before converting"
    assert migrated.query(migrated.ours, sql) == [("outstanding_requests",)]


def test_the_queue_type_of_a_user_with_several_pending_entries_follows_the_documented_rule(
    migrated: Migrated,
) -> None:
    # highest priority_score (90: b2 and c2), then oldest created_at (c2), then id
    sql = "SELECT current_queue_type FROM user_call_scores WHERE user_id = 2"
    assert migrated.query(migrated.ours, sql) == [("outstanding_requests",)]
    guide_choice = migrated.query(migrated.guide, sql)[0][0]
    assert guide_choice in {"unsigned_users", "callback", "outstanding_requests"}  # LIMIT 1 without ORDER BY


def test_former_callbacks_keep_their_callback(migrated: Migrated) -> None:
    sql = "SELECT queue_type, callback_id, callback_reason FROM call_queue WHERE id = 'q1'"
    assert migrated.query(migrated.guide, sql) == [("outstanding_requests", None, None)], "the guide forgets them"
    assert migrated.query(migrated.ours, sql) == [
        ("outstanding_requests", "legacy-callback-q1", 'call after 6pm — "not before"')
    ]


def test_rollback_restores_the_callback_entries_exactly(migrated: Migrated, mariadb_server: MariaDBServer) -> None:
    # the guide's rollback only drops columns: the entries stay outstanding_requests
    with mariadb_server.root() as conn, conn.cursor() as cursor:
        cursor.execute(f"USE `{migrated.guide}`")
        cursor.execute(
            "ALTER TABLE call_queue DROP COLUMN callback_id, DROP COLUMN callback_scheduled_for, "
            "DROP COLUMN callback_reason"
        )
    sql = "SELECT id, queue_type FROM call_queue WHERE id IN ('q1', 'b2') ORDER BY id"
    assert migrated.query(migrated.guide, sql) == [
        ("b2", "outstanding_requests"),
        ("q1", "outstanding_requests"),
    ]
    url = mariadb_server.url(migrated.ours)
    result = rollback(open_tracker(Settings(database_url=url)), url)
    assert result.legacy_checksums_equal
    assert migrated.query(migrated.ours, sql) == [("b2", "callback"), ("q1", "callback")]
    pristine = legacy_database(mariadb_server)
    for table in ("user_call_scores", "call_queue"):
        assert (
            migrated.query(migrated.ours, f"CHECKSUM TABLE {table} EXTENDED")[0][1]
            == migrated.query(pristine, f"CHECKSUM TABLE {table} EXTENDED")[0][1]
        )
