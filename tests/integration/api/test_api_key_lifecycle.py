"""API keys: a revocation reaches every worker within a second, rotation with and without
a grace period, and a revoked name can be created again; on SQLite and MariaDB."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from domain.errors import AlreadyExists, InvalidValue, NotFound, OperationRefused
from infrastructure.api.api_keys import ApiKeys, digest
from infrastructure.database import make_engine, schema_lock, write_transaction
from infrastructure.migrations.upgrade import HEAD, alembic_config, ensure_schema, recorded_revision
from tests.support.in_process_cli import run_cli

EVENTS_TABLE = "stored_events"


@pytest.fixture
def engines(database_url: str) -> Iterator[list[Engine]]:
    """Two engines on one database: two workers' connections."""
    made = [make_engine(database_url), make_engine(database_url)]
    ensure_schema(made[0], EVENTS_TABLE)  # what open_recorder does before anything reads the keys
    yield made
    for engine in made:
        engine.dispose()


def authenticate(keys: ApiKeys, key: str) -> str | None:
    """What ``deps.caller`` does for a request."""
    return keys.cached_caller(key) or keys.caller(key)


def seconds_until_refused(keys: ApiKeys, key: str, limit: float = 3.0) -> float:
    started = time.monotonic()
    while authenticate(keys, key) is not None:
        assert time.monotonic() - started < limit, "the key still works"
        time.sleep(0.01)
    return time.monotonic() - started


def test_a_revocation_on_one_worker_is_refused_by_another_within_a_second(engines: list[Engine]) -> None:
    here, there = ApiKeys(engines[0]), ApiKeys(engines[1])
    key = here.create("web-app")
    assert authenticate(there, key) == "web-app"
    for _ in range(20):  # warm: the other worker answers from its copy, without a read
        assert there.cached_caller(key) in ("web-app", None)
    assert authenticate(there, key) == "web-app"
    here.revoke("web-app")
    assert seconds_until_refused(there, key) < 1.0
    assert authenticate(here, key) is None


def test_rotation_without_grace_refuses_the_old_key_and_with_grace_keeps_it_for_the_grace(
    engines: list[Engine],
) -> None:
    here, there = ApiKeys(engines[0]), ApiKeys(engines[1])
    old = here.create("claims")
    assert authenticate(there, old) == "claims"
    new, until = here.rotate("claims")
    assert until is None and new != old
    assert authenticate(there, new) == "claims"
    assert seconds_until_refused(there, old) < 1.0

    newer, until = here.rotate("claims", grace_seconds=2)
    assert until is not None
    assert authenticate(there, new) == "claims" and authenticate(there, newer) == "claims"
    assert [(s.name, s.revoked, s.previous_valid_until) for s in here.states()] == [("claims", False, until)]
    refused_after = seconds_until_refused(there, new, limit=5.0)
    assert 1.0 < refused_after < 3.5, refused_after
    assert authenticate(there, newer) == "claims"
    here.revoke("claims")
    assert seconds_until_refused(there, newer) < 1.0


def test_a_revoked_name_can_be_created_again_an_active_one_cannot(engines: list[Engine]) -> None:
    keys = ApiKeys(engines[0])
    first = keys.create("reports")
    with pytest.raises(AlreadyExists):
        keys.create("reports")
    keys.revoke("reports")
    second = keys.create("reports")
    assert authenticate(keys, second) == "reports" and authenticate(keys, first) is None
    assert keys.names() == [("reports", False)]
    with pytest.raises(NotFound):
        keys.rotate("nobody")
    with pytest.raises(InvalidValue) as bad:
        keys.rotate("reports", grace_seconds=-1)
    assert bad.value.field == "grace_seconds"
    keys.revoke("reports")
    with pytest.raises(NotFound):
        keys.rotate("reports")


def test_the_cli_rotates_with_a_grace_and_lists_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", database_url)
    code, old, err = run_cli(["api-key", "create", "web"], monkeypatch, capsys)
    assert code == 0, err
    code, new, err = run_cli(["api-key", "rotate", "web", "--grace-seconds", "60"], monkeypatch, capsys)
    assert code == 0 and new.strip().startswith("ct_") and new != old and "works until" in err, err
    code, listed, _ = run_cli(["api-key", "list"], monkeypatch, capsys)
    assert code == 0 and listed.startswith("web (old key works until ") and listed.strip().endswith("Z)")
    engine = make_engine(database_url)
    try:
        keys = ApiKeys(engine)
        assert authenticate(keys, old.strip()) == "web" and authenticate(keys, new.strip()) == "web"
    finally:
        engine.dispose()
    code, out, err = run_cli(["api-key", "rotate", "web", "--grace-seconds", "-5"], monkeypatch, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and not out and len(lines) == 1 and "grace_seconds" in lines[0], err
    code, out, err = run_cli(["api-key", "rotate", "nobody"], monkeypatch, capsys)
    assert code == 3 and not out and "nobody" in err


def test_a_key_table_made_before_rotation_gets_its_columns_and_its_keys_keep_working(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with schema_lock(engine), write_transaction(engine) as conn:  # the schema before rotation existed
            command.upgrade(alembic_config(EVENTS_TABLE, connection=conn), "0001_baseline")
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO convtrack_api_keys VALUES ('old-service', :d, '2026-01-02 03:04:05.678', 0)"),
                {"d": digest("ct_old")},
            )
        assert "previous_digest" not in {c["name"] for c in inspect(engine).get_columns("convtrack_api_keys")}
        with pytest.raises(OperationRefused, match="db upgrade"):
            ApiKeys(engine)
        ensure_schema(engine, EVENTS_TABLE)
        assert recorded_revision(engine) == HEAD
        columns = {c["name"] for c in inspect(engine).get_columns("convtrack_api_keys")}
        assert {"previous_digest", "previous_valid_until"} <= columns
        keys = ApiKeys(engine)
        assert authenticate(keys, "ct_old") == "old-service"
        new, until = keys.rotate("old-service", grace_seconds=30)
        assert until is not None
        assert authenticate(keys, "ct_old") == "old-service" and authenticate(keys, new) == "old-service"
    finally:
        engine.dispose()
