"""Who did what, a user's history and the user's records as of a past moment: through the
HTTP API, the CLI and the bootstrap, on SQLite and the session's MariaDB."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from bootstrap.sample_data import generate
from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.app import create_app
from infrastructure.database import make_engine
from infrastructure.json_values import plain_json, utc_milliseconds
from infrastructure.provenance import operator_actor
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.db_state import event_count
from tests.support.in_process_cli import run_cli
from tests.support.lifecycle import bring_to

HEX32 = re.compile(r"^[0-9a-f]{32}$")
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


@dataclass
class Live:
    url: str
    client: TestClient
    user_id: int
    legacy_row: dict[str, Any]
    legacy_entries: list[dict[str, Any]]


def legacy_user(url: str) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """A generated legacy user with a score row and pending queue rows: (id, score row, queue rows)."""
    engine = make_engine(url)
    try:
        generate(engine, users=30, seed=5)
        meta = MetaData()
        meta.reflect(engine, only=["user_call_scores", "call_queue"])
        scores, queue = meta.tables["user_call_scores"], meta.tables["call_queue"]
        with engine.connect() as conn:
            pending_users = select(queue.c.user_id).where(
                queue.c.user_id.in_(select(scores.c.user_id)), queue.c.status == "pending"
            )
            user = conn.execute(pending_users.order_by(queue.c.user_id).limit(1)).scalar_one()
            row = dict(conn.execute(select(scores).where(scores.c.user_id == user)).one()._mapping)
            entries = [dict(r._mapping) for r in conn.execute(select(queue).where(queue.c.user_id == user))]
        return int(user), row, entries
    finally:
        engine.dispose()


@pytest.fixture
def live(database_url: str) -> Iterator[Live]:
    user_id, row, entries = legacy_user(database_url)
    bring_to(database_url, Phase.CUT_OVER)
    recorder = open_tracker(Settings(database_url=database_url)).sql_recorder
    key = ApiKeys(recorder.engine).create("claims-service")
    recorder.close()
    app = create_app(Settings(database_url=database_url, poll_interval_seconds=0.02))
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["X-API-Key"] = key
        yield Live(database_url, client, user_id, row, entries)


def post(client: TestClient, path: str, body: dict[str, Any], key: str | None = None) -> dict[str, Any]:
    headers = {"Idempotency-Key": key} if key else {}
    done = client.post(path, json=body, headers=headers)
    assert done.status_code == 201, done.text
    return done.json()


def history(client: TestClient, user_id: int, **params: Any) -> dict[str, Any]:
    got = client.get(f"/api/users/{user_id}/history", params=params)
    assert got.status_code == 200, got.text
    return got.json()


def test_history_lists_the_seed_with_legacy_values_then_every_command_in_order_with_who_did_it(
    live: Live, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, user = live.client, live.user_id
    post(client, "/api/call-attempts", {"user_id": user, "agent_id": 3, "outcome": "answered"}, key="attempt-1")
    entry = post(client, "/api/queue", {"user_id": user, "queue_type": "unsigned_users", "priority_score": 4})
    entry_id = entry["ids"]["entry_id"]
    post(client, f"/api/queue/{entry_id}/callback", {"scheduled_for": "2027-01-02T03:04:05.678Z", "reason": "later"})
    post(client, f"/api/queue/{entry_id}/clear-callback", {"reason": "reached"})
    converted = post(
        client,
        "/api/conversions",
        {"user_id": user, "conversion_type": "signed", "claim_value": "1250.00", "primary_agent_id": 3},
        key="convert-1",
    )
    conversion = converted["ids"]["conversion_id"]
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", live.url)
    code, _, err = run_cli(["conversion", "reverse", conversion, "--reason", "cancelled"], monkeypatch, capsys)
    assert code == 0, err

    items = history(client, user, limit=500)["items"]
    positions = [item["position"] for item in items]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    names = [f"{i['aggregate']}.{i['event']}" for i in items]
    seeds = [i for i in items if i["event"] == "Seeded"]
    assert names[: len(seeds)] == [f"{i['aggregate']}.Seeded" for i in seeds], "the seed comes first"
    [score_seed] = [i for i in seeds if i["aggregate"] == "UserCallScore"]
    assert score_seed["data"]["row"] == plain_json(live.legacy_row), "the legacy row, exactly"
    assert {i["row_id"] for i in seeds if i["aggregate"] == "CallQueueEntry"} == {
        str(e["id"]) for e in live.legacy_entries
    }
    assert all(i["actor"] == f"bootstrap:{operator_actor()}" and HEX32.match(i["request_id"]) for i in seeds)
    assert len({i["request_id"] for i in seeds}) == 1, "one run"

    after = names[len(seeds) :]
    assert after[0] == "UserCallScore.CallAttemptRecorded"
    assert after.index("CallQueueEntry.Enqueued") < after.index("CallQueueEntry.CallbackScheduled")
    assert after.index("CallQueueEntry.CallbackScheduled") < after.index("CallQueueEntry.CallbackCleared")
    assert after.index("CallQueueEntry.CallbackCleared") < after.index("Conversion.Recorded")
    assert after.index("Conversion.Recorded") < after.index("Conversion.Reversed")
    assert after[-1] == "UserCallScore.Reactivated"
    assert "CallQueueEntry.Completed" in after  # the open entries completed by the conversion

    by_name = {n: i for n, i in zip(names, items, strict=True)}
    attempt = by_name["UserCallScore.CallAttemptRecorded"]
    assert (attempt["actor"], attempt["idempotency_key"]) == ("claims-service", "attempt-1")
    assert attempt["change"]["kind"] == "update" and attempt["data"]["outcome"] == "answered"
    assert attempt["at"].endswith("Z") and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", attempt["at"])
    recorded = by_name["Conversion.Recorded"]
    assert (recorded["actor"], recorded["idempotency_key"]) == ("claims-service", "convert-1")
    one_request = [i for i in items if i["request_id"] == recorded["request_id"]]
    assert {i["event"] for i in one_request} >= {"Recorded", "Deactivated"}, "a command's events share its request id"
    reversed_ = by_name["Conversion.Reversed"]
    assert reversed_["actor"] == operator_actor() and reversed_["idempotency_key"] is None
    assert HEX32.match(reversed_["request_id"]) and reversed_["request_id"] != recorded["request_id"]
    assert by_name["CallQueueEntry.CallbackScheduled"]["data"]["scheduled_for"] == "2027-01-02T03:04:05.678Z"

    code, out, err = run_cli(["history", "--user-id", str(user), "--json", "--limit", "500"], monkeypatch, capsys)
    assert code == 0, err
    assert json.loads(out)["items"] == items, "the CLI lists what the API lists"
    code, out, err = run_cli(["history", "--user-id", str(user)], monkeypatch, capsys)
    assert code == 0 and len(out.splitlines()) == len(items) and "actor=claims-service" in out


def test_history_pages_through_every_event_once(live: Live) -> None:
    client, user = live.client, live.user_id
    for n in range(3):
        post(client, "/api/call-attempts", {"user_id": user, "agent_id": 2, "outcome": f"o{n}"})
    everything = history(client, user, limit=500)["items"]
    seen: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        page = history(client, user, limit=2, offset=offset)
        assert page["limit"] == 2 and page["offset"] == offset and len(page["items"]) <= 2
        assert page["has_more"] is (page["next_offset"] is not None)
        seen += page["items"]
        offset = page["next_offset"]
    assert seen == everything and len(everything) >= 4
    assert history(client, user, offset=len(everything))["items"] == []


def test_as_of_gives_the_score_and_the_entries_as_they_stood(live: Live) -> None:
    client, user = live.client, live.user_id
    before = client.get(f"/api/scores/{user}").json()
    queue_type = str(live.legacy_entries[0]["queue_type"])
    queue_type = "outstanding_requests" if queue_type == "callback" else queue_type
    whole_queue = client.get("/api/queue", params={"queue_type": queue_type, "limit": 500}).json()
    projected = [e for e in whole_queue["items"] if e["user_id"] == user]
    from_events = client.get("/api/queue", params={"queue_type": queue_type, "user_id": user}).json()
    assert projected and from_events["items"] == projected, "the user's entries from the events are the rows"
    time.sleep(0.01)
    moment = utc_milliseconds(datetime.now().astimezone())
    time.sleep(0.01)
    first = post(client, "/api/call-attempts", {"user_id": user, "agent_id": 3, "outcome": "answered"})
    post(client, "/api/conversions", {"user_id": user, "conversion_type": "signed"})
    now = client.get(f"/api/scores/{user}", params={"min_position": first["position"] + 1}).json()
    assert now["total_attempts"] == before["total_attempts"] + 1 and now["is_active"] in (False, 0)

    then = client.get(f"/api/scores/{user}", params={"as_of": moment})
    assert then.status_code == 200, then.text
    assert then.json() == before, "the row as it stood, from the events"
    queue_then = client.get("/api/queue", params={"queue_type": queue_type, "user_id": user, "as_of": moment})
    assert queue_then.status_code == 200, queue_then.text
    assert queue_then.json()["items"] == projected
    queue_now = client.get("/api/queue", params={"queue_type": queue_type, "user_id": user}).json()
    assert queue_now["items"] == [], "the conversion completed them"
    long_ago = client.get(f"/api/scores/{user}", params={"as_of": "2001-01-01T00:00:00Z"})
    assert long_ago.status_code == 404


def test_bad_as_of_unknown_user_and_bad_page_are_4xx_naming_the_field_and_write_nothing(
    live: Live, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    client, user = live.client, live.user_id
    events = event_count(live.url)
    for path, params, status, field in [
        (f"/api/scores/{user}", {"as_of": "yesterday"}, 422, "as_of"),
        (f"/api/scores/{user}", {"as_of": "1999-13-01T00:00:00Z"}, 422, "as_of"),
        ("/api/queue/getQueue", {"queueType": "unsigned_users", "as_of": "2026-01-01T00:00:00Z"}, 422, "user_id"),
        (f"/api/users/{user}/history", {"limit": 0}, 422, "limit"),
        (f"/api/users/{user}/history", {"offset": -1}, 422, "offset"),
        ("/api/users/abc/history", {}, 422, "user_id"),
        ("/api/users/987654321/history", {}, 404, None),
    ]:
        got = client.get(path, params=params)
        assert got.status_code == status, (path, params, got.text)
        if field:
            assert field in json.dumps(got.json()), (path, params, got.text)
    assert event_count(live.url) == events
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", live.url)
    for argv, code in [
        (["history", "--user-id", "987654321"], 3),
        (["history", "--user-id", "x"], 2),
        (["history", "--user-id", str(user), "--limit", "0"], 2),
    ]:
        exit_code, out, err = run_cli(argv, monkeypatch, capsys)
        lines = [line for line in err.splitlines() if line.strip()]
        assert exit_code == code and len(lines) == 1 and not out, (argv, exit_code, out, err)


def test_the_request_id_given_or_made_by_the_middleware_is_the_events(live: Live) -> None:
    app = create_app(Settings(database_url=live.url, poll_interval_seconds=0.02))

    body = {"user_id": live.user_id, "agent_id": 1, "outcome": "busy"}
    with TestClient(app) as client:
        client.headers["X-API-Key"] = live.client.headers["X-API-Key"]
        given = client.post("/api/call-attempts", json=body, headers={"X-Request-ID": "req-0001"}).json()
        answered = client.post("/api/call-attempts", json=body)
        made, made_id = answered.json(), answered.headers["X-Request-ID"]
    items = {i["position"]: i for i in history(live.client, live.user_id, limit=500)["items"]}
    assert items[given["position"]]["request_id"] == "req-0001"
    assert UUID4.match(made_id) and items[made["position"]]["request_id"] == made_id
