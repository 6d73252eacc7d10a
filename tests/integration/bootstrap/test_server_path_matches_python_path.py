"""The bootstrap's server path (seed events built by INSERT … SELECT) writes exactly the
events the domain writes, and staging rows exactly their Python projection, on legacy data
with every kind of awkward value and extra columns of every supported type."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from eventsourcing.utils import get_topic
from sqlalchemy import text

from bootstrap.assess import assess
from bootstrap.bootstrapper import Bootstrapper
from bootstrap.legacy_source import LegacySource
from bootstrap.sample_data import generate
from bootstrap.seeders import choose_seeder
from bootstrap.verify import verify
from domain.bootstrap_run import BootstrapRun
from domain.call_queue_entry import CallQueueEntry
from domain.errors import OperationRefused
from domain.user_call_score import UserCallScore
from infrastructure.application import ConversionTracker
from infrastructure.database import make_engine
from infrastructure.event_store.transcodings import register_extra_transcodings
from infrastructure.projections.tables import TableNames
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.mariadb_server import MariaDBServer

SEED_TOPICS = tuple(map(get_topic, (UserCallScore.Seeded, UserCallScore.Registered, CallQueueEntry.Seeded)))
AWKWARD = [
    "",
    " ",
    "trailing  ",
    "back\\slash \\n not a newline",
    "quote \" and ' and `",
    "tab\tnewline\ncarriage\r",
    "\x01\x08\x0c\x1f controls",
    "emoji 😀 𝄞 four bytes",
    "separators \u2028 \u2029",
    "Müller — ünïcödé ✓",
    "null",
    '{"_type_": "datetime_iso", "_data_": "2024-01-01"}',
]
EXTRA_SCORE_COLUMNS = (
    "ALTER TABLE user_call_scores ADD COLUMN credit DECIMAL(12,4) NULL, ADD COLUMN born DATE NULL, "
    "ADD COLUMN token VARBINARY(16) NULL, ADD COLUMN vip TINYINT(1) NULL, ADD COLUMN big BIGINT UNSIGNED NULL, "
    "ADD COLUMN plain_at DATETIME NULL, ADD COLUMN note MEDIUMTEXT NULL, ADD COLUMN tier ENUM('gold', 'silver') NULL"
)


def awkward_legacy(server: MariaDBServer) -> str:
    """Sample legacy data plus extra columns and awkward values; rules tested at their edges:
    statuses and queue types that equal 'pending'/'callback' only under the _ci collation
    or with a trailing space must not count as such."""
    database = server.create_database()
    generate(make_engine(server.url(database)), users=300, seed=11)
    with server.root() as conn, conn.cursor() as cursor:
        cursor.execute(f"USE `{database}`")
        cursor.execute(EXTRA_SCORE_COLUMNS)
        cursor.execute("SELECT id FROM user_call_scores ORDER BY id LIMIT 40")
        score_ids = [r[0] for r in cursor.fetchall()]
        for index, row_id in enumerate(score_ids):
            value = AWKWARD[index % len(AWKWARD)]
            cursor.execute(
                "UPDATE user_call_scores SET note = %s, last_call_outcome = %s, credit = %s, born = %s, "
                "token = %s, vip = %s, big = %s, plain_at = %s, tier = %s WHERE id = %s",
                (
                    value,
                    value[:32] or None,
                    ["-12345678.1234", "0.0000", "99999999.9999", None][index % 4],
                    ["1970-01-01", "2024-02-29", None][index % 3],
                    [bytes(range(16)), b"", b"\x00'\"\\\n", None][index % 4],
                    [0, 1, None][index % 3],
                    [0, 18446744073709551615, None][index % 3],
                    ["2024-03-01 09:30:15", None][index % 2],
                    ["gold", "silver", None][index % 3],
                    row_id,
                ),
            )
        cursor.execute("SELECT id FROM call_queue ORDER BY id LIMIT 60")
        entry_ids = [r[0] for r in cursor.fetchall()]
        for index, row_id in enumerate(entry_ids):
            cursor.execute(
                "UPDATE call_queue SET queue_reason = %s WHERE id = %s", (AWKWARD[index % len(AWKWARD)], row_id)
            )
        odd = ["Pending", "pending ", "PENDING"]
        for index, row_id in enumerate(entry_ids[:9]):
            cursor.execute("UPDATE call_queue SET status = %s WHERE id = %s", (odd[index % 3], row_id))
        for index, row_id in enumerate(entry_ids[9:18]):
            kind = ["Callback", "callback ", "callback"][index % 3]
            cursor.execute("UPDATE call_queue SET queue_type = %s, status = 'pending' WHERE id = %s", (kind, row_id))
    return database


def copy_legacy(server: MariaDBServer, source: str) -> str:
    target = server.create_database()
    with server.root() as conn, conn.cursor() as cursor:
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in ("agents", "user_call_scores", "call_queue", "call_sessions"):
            cursor.execute(f"CREATE TABLE `{target}`.`{table}` LIKE `{source}`.`{table}`")
            cursor.execute(f"INSERT INTO `{target}`.`{table}` SELECT * FROM `{source}`.`{table}`")
    return target


def seed_states(tracker: ConversionTracker, transcoder: JSONTranscoder) -> dict[bytes, tuple[str, dict[str, Any]]]:
    """originator id -> (topic, decoded state without the run's times), seed events only."""
    states = {}
    with tracker.sql_recorder.engine.connect() as conn:
        rows = conn.execute(text("SELECT originator_id, originator_version, topic, state FROM stored_events"))
        for originator_id, version, topic, state in rows:
            if topic in SEED_TOPICS:
                assert version == 1
                decoded = transcoder.decode(bytes(state))
                decoded.pop("timestamp")
                decoded.pop("last_queue_check", None)  # each run's own bootstrap time (verify checks it)
                states[bytes(originator_id)] = (topic, decoded)
    return states


def staging(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = make_engine(url)
    names = TableNames.staging(engine)
    with engine.connect() as conn:
        found = {}
        for logical in ("user_call_scores", "call_queue"):
            result = conn.execute(text(f"SELECT * FROM {names.qualified(logical)} ORDER BY id"))
            keys = list(result.keys())
            found[logical] = [
                tuple(v for k, v in zip(keys, row, strict=True) if k != "last_queue_check") for row in result
            ]
        return found


def library_transcoder() -> JSONTranscoder:
    """The library's own JSON transcoder (stdlib json), not our orjson reader."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_extra_transcodings(transcoder)
    return transcoder


def _first_difference(differing: dict[bytes, Any]) -> str:
    (server_topic, server_state), (domain_topic, domain_state) = next(iter(differing.values()))
    fields = {
        k: (server_state.get(k), domain_state.get(k))
        for k in server_state.keys() | domain_state.keys()
        if server_state.get(k) != domain_state.get(k)
    }
    if "row" in fields:
        server_row, domain_row = fields.pop("row")
        fields.update(
            {
                f"row.{k}": (server_row.get(k), domain_row.get(k))
                for k in server_row
                if server_row.get(k) != domain_row.get(k)
            }
        )
    return f"{len(differing)} events differ; first ({server_topic}): {fields!r}"


def bootstrapped(url: str, *, in_server: bool) -> tuple[ConversionTracker, str]:
    tracker = open_tracker(Settings(database_url=url))
    bootstrapper = Bootstrapper(tracker, LegacySource(url), batch_size=37, in_server=in_server)
    report = bootstrapper.run()
    return tracker, report.path


def test_server_and_python_paths_write_the_same_events_and_the_same_staging_rows(
    mariadb_server: MariaDBServer,
) -> None:
    server_db = awkward_legacy(mariadb_server)
    python_db = copy_legacy(mariadb_server, server_db)
    server_url, python_url = mariadb_server.url(server_db), mariadb_server.url(python_db)

    assessment = assess(LegacySource(server_url))  # values equal only under the _ci collation are their own
    assert {"Callback", "callback "} <= set(assessment.unknown_queue_types)
    assert {"Pending", "pending ", "PENDING"} <= set(assessment.unknown_statuses)

    server_tracker, server_path = bootstrapped(server_url, in_server=True)
    python_tracker, python_path = bootstrapped(python_url, in_server=False)
    assert server_path.startswith("server path") and python_path.startswith("Python path")

    for transcoder in (library_transcoder(), server_tracker.mapper.transcoder):
        made_by_server = seed_states(server_tracker, transcoder)
        made_by_domain = seed_states(python_tracker, transcoder)
        assert len(made_by_server) == len(made_by_domain) > 700
        differing = {
            key: (made_by_server[key], made_by_domain.get(key))
            for key in made_by_server
            if made_by_server[key] != made_by_domain.get(key)
        }
        assert not differing, _first_difference(differing)

    server_rows, python_rows = staging(server_url), staging(python_url)
    assert len(server_rows["user_call_scores"]) > 250 and len(server_rows["call_queue"]) > 400
    assert server_rows == python_rows
    report = verify(server_tracker, LegacySource(server_url))
    assert report.ok, (report.mismatch_count, report.mismatches[:3], [c for c in report.checks if not c.ok])
    with make_engine(server_url).connect() as conn:
        left = conn.execute(text("SHOW TABLES LIKE 'convtrack_seed_%'")).all()
    assert left == [], "the work tables are dropped"


def test_a_column_type_without_a_server_expression_takes_the_python_path(mariadb_server: MariaDBServer) -> None:
    database = mariadb_server.create_database()
    url = mariadb_server.url(database)
    generate(make_engine(url), users=60, seed=2)
    with mariadb_server.root() as conn, conn.cursor() as cursor:
        cursor.execute(f"ALTER TABLE `{database}`.user_call_scores ADD COLUMN ratio DOUBLE NULL")
        cursor.execute(f"UPDATE `{database}`.user_call_scores SET ratio = 0.1 + 0.2")
    tracker = open_tracker(Settings(database_url=url))
    source = LegacySource(url)
    choice = choose_seeder(tracker.sql_recorder.engine, source)
    assert not choice.in_server and "user_call_scores.ratio (double)" in choice.reason
    bootstrapper = Bootstrapper(tracker, source)
    assert bootstrapper.run().path.startswith("Python path (column types without an exact server expression")
    assert verify(tracker, source).ok


def test_a_bootstrap_whose_legacy_tables_change_while_it_reads_them_does_not_complete(
    mariadb_server: MariaDBServer,
) -> None:
    database = mariadb_server.create_database()
    url = mariadb_server.url(database)
    generate(make_engine(url), users=120, seed=4)
    tracker = open_tracker(Settings(database_url=url))

    def app_writes(done: int, total: int) -> None:
        with mariadb_server.root() as conn, conn.cursor() as cursor:
            cursor.execute(f"UPDATE `{database}`.call_queue SET priority_score = priority_score + 1 LIMIT 1")
            conn.commit()

    with pytest.raises(OperationRefused, match="changed while the bootstrap read them"):
        Bootstrapper(tracker, LegacySource(url), batch_size=50).run(
            progress_bars=lambda _, unit: nullcontext(app_writes)
        )
    with tracker.sql_recorder.engine.connect() as conn:
        completed = conn.execute(
            text("SELECT COUNT(*) FROM stored_events WHERE topic = :topic"),
            {"topic": get_topic(BootstrapRun.Completed)},
        ).scalar()
    assert completed == 0


def test_verify_reads_seed_events_back_and_names_one_that_differs_from_its_row(mariadb_server: MariaDBServer) -> None:
    """On the server path the staging rows come from the legacy rows, so a seed event that
    lost a value would pass the row-by-row comparison: verify decodes a sample spread over
    the log (every event, at this size) and compares it with its staging row."""
    database = mariadb_server.create_database()
    url = mariadb_server.url(database)
    generate(make_engine(url), users=80, seed=6)
    tracker, path = bootstrapped(url, in_server=True)
    assert path.startswith("server path") and verify(tracker, LegacySource(url)).ok
    with mariadb_server.root() as conn, conn.cursor() as cursor:
        changed = cursor.execute(
            f'UPDATE `{database}`.stored_events SET state = REPLACE(state, \'"status":"pending"\', '
            "'\"status\":\"Pending\"') WHERE topic = 'domain.call_queue_entry:CallQueueEntry.Seeded' "
            'AND state LIKE \'%"status":"pending"%\' ORDER BY id LIMIT 1'
        )
    assert changed == 1
    report = verify(tracker, LegacySource(url))
    assert [c.name for c in report.checks if not c.ok] == [
        "sampled seed events, decoded by the library, equal their staging rows"
    ]
    assert [(m["table"], m["column"]) for m in report.mismatches] == [("call_queue", "status (seed event)")]
