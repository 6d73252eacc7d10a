"""The HTTP API as an agents' service uses it, on SQLite and real MariaDB."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import exc as sa_exc

from infrastructure.api.app import create_app
from infrastructure.event_store.recorder import SqlEventRecorder
from infrastructure.settings import Settings
from tests.support.db_state import event_count


def test_requests_without_a_known_key_get_401_but_health_needs_none(client: TestClient) -> None:
    bare = TestClient(client.app)
    for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "ct_nope"}, {"Authorization": "Bearer nope"}):
        response = bare.get("/api/queue/getQueue?queueType=unsigned_users", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == "X-API-Key"
    good = bare.get(
        "/api/queue/getQueue?queueType=unsigned_users",
        headers={"Authorization": f"Bearer {client.headers['X-API-Key']}"},
    )
    assert good.status_code == 200
    assert bare.post("/api/queue", json={"user_id": 1, "queue_type": "unsigned_users"}).status_code == 401
    health = bare.get("/health")
    assert health.status_code == 200 and health.json()["store"] == "reachable"
    assert bare.get("/ready").status_code == 200


def test_a_write_then_a_read_of_your_own_write(client: TestClient) -> None:
    created = client.post(
        "/api/queue",
        json={
            "user_id": 77,
            "queue_type": "unsigned_users",
            "priority_score": 9,
            "reason": 'Robert\'); DROP TABLE call_queue;-- ünï\t"q"',
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    queue = client.get("/api/queue/getQueue", params={"queueType": "unsigned_users", "min_position": body["position"]})
    assert queue.status_code == 200
    [entry] = queue.json()["items"]
    assert entry["id"] == body["ids"]["entry_id"]
    assert entry["queue_reason"] == 'Robert\'); DROP TABLE call_queue;-- ünï\t"q"'
    attempt = client.post(
        "/api/call-attempts",
        json={"user_id": 77, "agent_id": 4, "outcome": "answered", "called_at": "2026-11-24T10:11:12.345Z"},
    )
    score = client.get("/api/scores/77", params={"min_position": attempt.json()["position"]}).json()
    assert score["current_score"] == 5 and score["last_call_at"] == "2026-11-24T10:11:12.345Z"
    assert score["user_id"] == 77 and attempt.json()["ids"]["user_id"] == 77


def test_money_is_exact_both_ways_and_totals_are_exact(client: TestClient) -> None:
    for user, value in ((1, "99999999.99"), (2, "0.01"), (3, "0.02")):
        done = client.post(
            "/api/conversions",
            json={
                "user_id": user,
                "conversion_type": "signed",
                "primary_agent_id": 5,
                "claim_value": value,
                "estimated_commission": "0.10",
                "documents_received": ["id"],
            },
        )
        assert done.status_code == 201, done.text
    listed = client.get("/api/conversions", params={"agent_id": 5, "min_position": done.json()["position"]}).json()
    assert sorted(c["claim_value"] for c in listed["items"]) == ["0.01", "0.02", "99999999.99"]
    totals = client.get("/api/conversions/totals").json()["items"]
    assert totals == [{"agent_id": 5, "conversions": 3, "claim_value": "100000000.02", "estimated_commission": "0.30"}]
    float_money = client.post("/api/conversions", json={"user_id": 9, "conversion_type": "x", "claim_value": 1.1})
    assert float_money.status_code == 422 and float_money.json()["errors"][0]["field"] == "claim_value"


def test_a_retried_request_with_the_same_idempotency_key_records_once(client: TestClient, database_url: str) -> None:
    body = {"user_id": 12, "conversion_type": "signed", "claim_value": "10.00"}
    first = client.post("/api/conversions", json=body, headers={"Idempotency-Key": "req-1"})
    before = event_count(database_url)
    again = client.post("/api/conversions", json=body, headers={"Idempotency-Key": "req-1"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["ids"] == first.json()["ids"] and again.json()["replayed"] is True
    assert event_count(database_url) == before
    other = client.post("/api/conversions", json={**body, "claim_value": "11.00"}, headers={"Idempotency-Key": "req-1"})
    assert other.status_code == 409 and event_count(database_url) == before


def test_rule_violations_are_409_or_404_with_an_actionable_message(client: TestClient) -> None:
    client.post("/api/conversions", json={"user_id": 3, "conversion_type": "signed"})
    twice = client.post("/api/conversions", json={"user_id": 3, "conversion_type": "signed"})
    assert twice.status_code == 409 and "reverse it" in twice.json()["detail"]
    missing = client.post("/api/queue/nope/complete", json={})
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    entry = client.post("/api/queue", json={"user_id": 4, "queue_type": "outstanding_requests"}).json()["ids"][
        "entry_id"
    ]
    assert client.post(f"/api/queue/{entry}/cancel", json={"reason": "dup"}).status_code == 201
    closed = client.post(f"/api/queue/{entry}/assign", json={"agent_id": 2})
    assert closed.status_code == 409 and "cancelled" in closed.json()["detail"]


def test_bad_input_is_a_4xx_naming_the_field_and_writes_nothing(client: TestClient, database_url: str) -> None:
    before = event_count(database_url)
    cases = [
        ({"user_id": "12", "queue_type": "unsigned_users"}, "user_id"),
        ({"user_id": 2**70, "queue_type": "unsigned_users"}, "user_id"),
        ({"user_id": 1, "queue_type": "callback"}, "queue_type"),
        ({"user_id": 1, "queue_type": "unsigned_users", "priority_score": 2**31}, "priority_score"),
        ({"user_id": 1, "queue_type": "unsigned_users", "surprise": 1}, "surprise"),
        ({"user_id": 1, "queue_type": "unsigned_users", "reason": "\x00"}, "reason"),
    ]
    for body, field in cases:
        response = client.post("/api/queue", json=body)
        assert response.status_code == 422, (body, response.text)
        assert field == response.json()["errors"][0]["field"], (body, response.json())
    malformed = client.post("/api/queue", content=b'{"user_id": 1,', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422
    ancient = client.post(
        "/api/call-attempts",
        json={"user_id": 1, "agent_id": 1, "outcome": "x", "called_at": "0999-01-01T00:00:00"},
    )
    assert ancient.status_code == 422 and ancient.json()["errors"][0]["field"] == "called_at"
    huge = client.post(
        "/api/queue",
        content=json.dumps({"user_id": 1, "queue_type": "unsigned_users", "reason": "x" * (10 * 1024 * 1024)}),
        headers={"Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert event_count(database_url) == before


def test_a_store_failure_at_commit_is_a_503_to_retry_and_records_nothing(
    database_url: str, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def lost_connection(_self: SqlEventRecorder, _saves: object, _first: object, _recorded: object) -> None:
        raise sa_exc.OperationalError("INSERT INTO stored_events ...", None, Exception("Lost connection during query"))

    monkeypatch.setattr(SqlEventRecorder, "_assign", lost_connection)  # inside the group's transaction
    before = event_count(database_url)
    app = create_app(Settings(database_url=database_url, poll_interval_seconds=0.02))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(
            "/api/call-attempts",
            json={"user_id": 5, "agent_id": 1, "outcome": "answered"},
            headers={"X-API-Key": api_key, "Idempotency-Key": "retry-me"},
        )
    assert response.status_code == 503, response.text
    assert response.json()["type"] == "urn:convtrack:problem:store-unavailable"
    assert event_count(database_url) == before
