"""The operator's commands as an operator runs them, on SQLite and on MariaDB."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from bootstrap.legacy_source import LegacySource
from bootstrap.sample_data import generate
from infrastructure.database import make_engine
from infrastructure.projections.tables import TableNames
from tests.support.db_state import event_count
from tests.support.mariadb_server import MariaDBServer
from tests.support.processes import CONVTRACK, convtrack_env, run_convtrack


def make_legacy(url: str, users: int = 400, seed: int = 3) -> None:
    generate(make_engine(url), users=users, seed=seed)


def staging_rows(url: str, skip: set[str]) -> dict[str, list[tuple[object, ...]]]:
    engine = make_engine(url)
    names = TableNames.staging(engine)
    out = {}
    with engine.connect() as conn:
        for logical in ("user_call_scores", "call_queue"):
            table = names.all()[logical]
            qualified = f"`{names.schema}`.`{table}`" if names.schema else f'"{table}"'
            result = conn.execute(text(f"SELECT * FROM {qualified} ORDER BY id"))
            keys = list(result.keys())
            out[logical] = [tuple(v for k, v in zip(keys, row, strict=True) if k not in skip) for row in result]
    return out


def event_count_if_any(url: str) -> int:
    try:
        return event_count(url)
    except Exception:  # the table does not exist yet
        return 0


def staging_position(url: str) -> int:
    """Where the staging projection stands (0 before it exists)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT position FROM convtrack_projection_tracking WHERE name = 'staging'")
            ).scalar()
        return int(found or 0)
    except (OperationalError, ProgrammingError):  # the table does not exist yet
        return 0
    finally:
        engine.dispose()


def max_event_id(url: str) -> int:
    with make_engine(url).connect() as conn:
        return int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM stored_events")).scalar() or 0)


def seed_events(url: str) -> int:
    """How many events the bootstrap stores before it completes: one per legacy row, one
    per user known only from queue rows, the BootstrapRun and the LegacySchema."""
    with make_engine(url).connect() as conn:
        rows = conn.execute(text("SELECT (SELECT COUNT(*) FROM user_call_scores) + (SELECT COUNT(*) FROM call_queue)"))
        orphans = conn.execute(
            text(
                "SELECT COUNT(DISTINCT user_id) FROM call_queue "
                "WHERE user_id NOT IN (SELECT user_id FROM user_call_scores)"
            )
        )
        return int(rows.scalar_one()) + int(orphans.scalar_one()) + 2


def kill_points(database_url: str) -> list[tuple[Callable[[str], int], int]]:
    """Right after the first events, then deeper into the run; one among the users known
    only from queue rows (seeded after all others); and while the staging tables are
    projected: on the server path (MariaDB) range by range behind the seeding, so amid the
    other kills; on the Python path (SQLite) once every event is stored."""
    seeded = [(event_count_if_any, n) for n in (2, 400, 1500, 2600, 3450)]
    if database_url.startswith("mysql"):
        staged = [(staging_position, n) for n in (1000, 2800)]
        return [*seeded[:2], staged[0], *seeded[2:4], staged[1], seeded[4]]
    return [*seeded, (event_count_if_any, seed_events(database_url))]


def second_database(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'other.sqlite3'}"
    server: MariaDBServer = request.getfixturevalue("mariadb_server")
    return server.url(server.create_database())


@pytest.mark.slow
def test_the_whole_cutover_and_rollback_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    make_legacy(database_url)
    source = LegacySource(database_url)
    checksums = {t: source.checksum(t) for t in ("user_call_scores", "call_queue")}
    assessed = run_convtrack(database_url, "assess", "--json")
    assert assessed.returncode == 0, assessed.stderr
    facts = json.loads(assessed.stdout)
    assert facts["callback_entries"] > 0 and facts["extra_columns"]["call_queue"] == ["scheduled_for"]

    before = set(inspect(make_engine(database_url)).get_table_names())
    dry = run_convtrack(database_url, "bootstrap", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would write" in dry.stdout
    path = "server path" if database_url.startswith("mysql") else "Python path (SQLite)"
    assert f"would seed by the {path}" in dry.stdout, dry.stdout
    assert set(inspect(make_engine(database_url)).get_table_names()) == before, "a dry run writes nothing"

    assert run_convtrack(database_url, "bootstrap", "--batch-size", "100").returncode == 0
    events = event_count(database_url)
    again = run_convtrack(database_url, "bootstrap")
    assert again.returncode != 0 and "already completed" in again.stderr
    assert event_count(database_url) == events, "a second bootstrap changes nothing"

    verified = run_convtrack(database_url, "verify", "--reports-dir", str(tmp_path))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads((tmp_path / "verify-latest.json").read_text())
    assert report["ok"] and report["mismatch_count"] == 0
    assert (tmp_path / "verify-latest.md").read_text().startswith("# Verify report: PASSED")

    assert run_convtrack(database_url, "cutover", "--dry-run").returncode == 0
    cut = run_convtrack(database_url, "cutover", "--yes")
    assert cut.returncode == 0, cut.stderr
    with make_engine(database_url).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM call_queue WHERE queue_type = 'callback'")).scalar() == 0
        assert (
            conn.execute(text("SELECT COUNT(*) FROM call_queue WHERE callback_id IS NOT NULL")).scalar()
            == facts["callback_entries"]
        )

    with make_engine(database_url).connect() as conn:
        users = [
            int(u) for u in conn.execute(text("SELECT user_id FROM user_call_scores ORDER BY id LIMIT 2")).scalars()
        ]
    conversions = []
    for user, claim in zip(users, ("1250.05", "0.10"), strict=True):
        done = run_convtrack(
            database_url, "conversion", "record", "--user-id", str(user), "--conversion-type", "signed",
            "--claim-value", claim, "--json",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        conversions.append(json.loads(done.stdout)["ids"]["conversion_id"])
    reversed_ = run_convtrack(database_url, "conversion", "reverse", conversions[0], "--reason", "withdrew", "--json")
    assert reversed_.returncode == 0, reversed_.stderr
    recorded = run_convtrack(database_url, "project", "--once")
    assert recorded.returncode == 0, recorded.stderr
    back = run_convtrack(database_url, "rollback", "--yes", "--reports-dir", str(tmp_path))
    assert back.returncode == 0, back.stderr
    exported = run_convtrack(database_url, "export", "--output", str(tmp_path / "since.jsonl"))
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in (tmp_path / "since.jsonl").read_text().splitlines()]
    assert [line["event"] for line in lines] == ["Recorded", "Recorded", "Reversed"], "nothing recorded is lost"
    assert [(line["row"]["user_id"], line["row"]["claim_value"]) for line in lines[:2]] == [
        (users[0], "1250.05"),
        (users[1], "0.10"),
    ]
    assert lines[2]["conversion_id"] == conversions[0] and lines[2]["reason"] == "withdrew"
    rolled = json.loads((tmp_path / "rollback-latest.json").read_text())
    assert rolled["legacy_checksums"]["before"] == checksums, "the kept copy was untouched until the write-back"
    assert rolled["writeback"]["rows"]["user_call_scores"] == 2, "the converted users' rows came back updated"
    refused = run_convtrack(database_url, "project", "--once")
    assert refused.returncode != 0 and "legacy" in refused.stderr, "nothing writes the restored legacy tables"


@pytest.mark.slow
def test_a_bootstrap_killed_at_several_points_resumes_to_the_same_result(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    make_legacy(database_url, users=1500)
    kills = []
    # small ranges on the server path (MariaDB), which is otherwise done in a blink between
    # two looks at the event count
    batch = "2" if database_url.startswith("mysql") else "20"
    staged_kills = []
    for look, threshold in kill_points(database_url):
        process = subprocess.Popen(
            [CONVTRACK, "bootstrap", "--batch-size", batch],
            env=convtrack_env(database_url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            if look(database_url) >= threshold:
                process.send_signal(signal.SIGKILL)
                kills.append(look(database_url))
                if look is staging_position:
                    staged_kills.append((staging_position(database_url), max_event_id(database_url)))
                break
            time.sleep(0.005)
        process.wait(timeout=30)
        failures = process.stderr.read() if process.returncode not in (0, -signal.SIGKILL) else ""
        assert not failures, f"a rerun after a kill failed: {failures[-2000:]}"
    assert len(kills) >= 4, f"the bootstrap finished before it could be killed: {kills}"
    finished = run_convtrack(database_url, "bootstrap", "--batch-size", "25")
    if database_url.startswith("mysql"):
        assert any(at < head for at, head in staged_kills), f"not killed while staging: {staged_kills}"
        assert finished.returncode in (0, 5), finished.stderr  # 5: a killed run had already completed
    else:  # killed while projecting, after every event was stored: the run had not completed
        assert kills[-1] == seed_events(database_url), kills
        assert finished.returncode == 0, finished.stderr
    assert run_convtrack(database_url, "verify", "--reports-dir", str(tmp_path)).returncode == 0

    reference = second_database(request, database_url, tmp_path)
    make_legacy(reference, users=1500)
    assert run_convtrack(reference, "bootstrap", "--batch-size", "1000").returncode == 0
    assert staging_rows(database_url, {"last_queue_check"}) == staging_rows(reference, {"last_queue_check"})
    assert event_count(database_url) == event_count(reference)


def test_legacy_and_tracker_in_different_databases(
    database_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    tracker_url = second_database(request, database_url, tmp_path)
    make_legacy(database_url, users=150)
    extra = {"CONVTRACK_LEGACY_URL": database_url, "CONVTRACK_REPORTS_DIR": str(tmp_path)}
    dry = run_convtrack(tracker_url, "bootstrap", "--dry-run", **extra)
    why = "SQLite" if tracker_url.startswith("sqlite") else "legacy tables in another database"
    assert dry.returncode == 0 and f"would seed by the Python path ({why})" in dry.stdout, dry.stdout + dry.stderr
    if tracker_url.startswith("sqlite"):
        assert not (tmp_path / "other.sqlite3").exists(), "a dry run creates no database file"
    else:
        assert inspect(make_engine(tracker_url)).get_table_names() == [], "a dry run creates no table"
    for step in (["bootstrap"], ["verify"], ["cutover", "--yes"]):
        done = run_convtrack(tracker_url, *step, **extra)
        assert done.returncode == 0, f"{step}: {done.stdout}{done.stderr}"
    with make_engine(tracker_url).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM call_queue WHERE queue_type = 'callback'")).scalar() == 0
    rolled = run_convtrack(tracker_url, "rollback", "--yes", **extra)
    assert rolled.returncode == 0, rolled.stderr


def test_verify_names_every_kind_of_mismatch_exits_8_and_cutover_refuses(database_url: str, tmp_path: Path) -> None:
    """Values that differ by one millisecond, one trailing space or only in case, a missing
    row, a queue type no entry has, and a former callback that lost its callback id: each
    is named, verify exits 8, and cutover swaps nothing."""
    make_legacy(database_url, users=200)
    assert run_convtrack(database_url, "bootstrap").returncode == 0
    engine = make_engine(database_url)
    names = TableNames.staging(engine)

    def qualified(logical: str) -> str:
        table = names.all()[logical]
        return f"`{names.schema}`.`{table}`" if names.schema else f'"{table}"'

    scores, queue = qualified("user_call_scores"), qualified("call_queue")
    with engine.begin() as conn:

        def first_id(table: str, where: str) -> str:
            return str(conn.execute(text(f"SELECT id FROM {table} WHERE {where} ORDER BY id LIMIT 1")).scalar_one())

        later_call = first_id(scores, "last_call_at IS NOT NULL")
        spaced = first_id(scores, f"last_call_outcome IS NOT NULL AND id <> '{later_call}'")
        wrong_type = first_id(scores, f"current_queue_type IS NOT NULL AND id NOT IN ('{later_call}', '{spaced}')")
        changes_case = (  # MariaDB's _ci collation compares 'a' and 'A' as equal
            "CAST(queue_reason AS BINARY) <> CAST(UPPER(queue_reason) AS BINARY)"
            if names.schema
            else "queue_reason <> UPPER(queue_reason)"
        )
        upper = first_id(queue, f"queue_reason IS NOT NULL AND {changes_case}")
        missing = first_id(queue, f"id <> '{upper}'")
        callback = first_id(queue, f"callback_id IS NOT NULL AND id NOT IN ('{upper}', '{missing}')")
        plus_ms = (
            "last_call_at + INTERVAL 1000 MICROSECOND"
            if names.schema
            else "strftime('%Y-%m-%d %H:%M:%f', last_call_at, '+0.001 seconds')"
        )
        conn.execute(text(f"UPDATE {scores} SET last_call_at = {plus_ms} WHERE id = :id"), {"id": later_call})
        conn.execute(
            text(f"UPDATE {scores} SET last_call_outcome = CONCAT(last_call_outcome, ' ') WHERE id = :id")
            if names.schema
            else text(f"UPDATE {scores} SET last_call_outcome = last_call_outcome || ' ' WHERE id = :id"),
            {"id": spaced},
        )
        conn.execute(
            text(f"UPDATE {scores} SET current_queue_type = 'no_such_queue' WHERE id = :id"), {"id": wrong_type}
        )
        conn.execute(text(f"UPDATE {queue} SET queue_reason = UPPER(queue_reason) WHERE id = :id"), {"id": upper})
        conn.execute(text(f"DELETE FROM {queue} WHERE id = :id"), {"id": missing})
        conn.execute(text(f"UPDATE {queue} SET callback_id = NULL WHERE id = :id"), {"id": callback})

    verified = run_convtrack(database_url, "verify", "--reports-dir", str(tmp_path))
    assert verified.returncode == 8, verified.stdout + verified.stderr
    report = json.loads((tmp_path / "verify-latest.json").read_text())
    found = {(m["table"], str(m["id"]), m["column"]) for m in report["mismatches"]}
    expected = {
        ("user_call_scores", later_call, "last_call_at"),
        ("user_call_scores", spaced, "last_call_outcome"),
        ("user_call_scores", wrong_type, "current_queue_type"),
        ("call_queue", upper, "queue_reason"),
        ("call_queue", missing, "<row>"),
        ("call_queue", callback, "callback_id"),
    }
    assert expected <= found, found
    assert {(table, row_id) for table, row_id, _ in found} == {(table, row_id) for table, row_id, _ in expected}
    for table, row_id, column in expected:
        assert f"{table} id={row_id} {column}" in verified.stdout
    assert "verify found" in verified.stderr and "count unchanged" in verified.stdout

    refused = run_convtrack(database_url, "cutover", "--yes", "--reports-dir", str(tmp_path))
    assert refused.returncode != 0 and "verify fails" in refused.stderr
    live = {column["name"] for column in inspect(engine).get_columns("user_call_scores")}
    assert "user_id" in live and "current_queue_type" not in live, "the legacy table is still the live one"
    engine.dispose()
