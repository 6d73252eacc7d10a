"""A running server follows the lifecycle without a restart (commands and queries only
while the tracker's tables are live), and its follower never dies on an event it cannot
apply: it retries, and /ready names the position it is stuck at."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from bootstrap.cutover import cutover, rollback
from bootstrap.legacy_source import LegacySource
from domain import commands
from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.app import create_app
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.db_state import event_count
from tests.support.lifecycle import bring_to
from tests.support.waiting import eventually

ENQUEUE = {"user_id": 7, "queue_type": "unsigned_users"}


def app_client(database_url: str) -> TestClient:
    recorder = open_tracker(Settings(database_url=database_url)).sql_recorder
    key = ApiKeys(recorder.engine).create("web-app")
    recorder.close()
    client = TestClient(create_app(Settings(database_url=database_url, poll_interval_seconds=0.02)))
    client.headers["X-API-Key"] = key
    return client


def test_a_running_server_refuses_before_cutover_serves_after_it_and_refuses_after_rollback(
    database_url: str,
) -> None:
    bring_to(database_url, Phase.BOOTSTRAPPED, users=0)
    tracker = open_tracker(Settings(database_url=database_url))
    with app_client(database_url) as client:
        before = event_count(database_url)
        refused = client.post("/api/queue", json=ENQUEUE)
        assert refused.status_code == 503 and refused.json()["type"] == "urn:convtrack:problem:wrong-phase", (
            refused.text
        )
        assert "bootstrapped" in refused.json()["detail"] and "cutover" in refused.json()["detail"]
        assert client.get("/api/queue/getQueue", params={"queueType": "unsigned_users"}).status_code == 503
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["phase"] == "bootstrapped"
        assert event_count(database_url) == before

        source = LegacySource(database_url)
        try:
            cutover(tracker, source)
        finally:
            source.close()
        assert eventually(lambda: client.get("/ready").status_code == 200)
        written = client.post("/api/queue", json=ENQUEUE)
        assert written.status_code == 201, written.text
        params = {"queueType": "unsigned_users", "min_position": written.json()["position"]}
        queue = client.get("/api/queue/getQueue", params=params)
        assert queue.status_code == 200 and [e["id"] for e in queue.json()["items"]] == [
            written.json()["ids"]["entry_id"]
        ]

        rollback(tracker, database_url)
        assert eventually(lambda: client.get("/health").json()["phase"] == "rolled_back")
        after = event_count(database_url)
        refused = client.post("/api/queue", json=ENQUEUE)
        assert refused.status_code == 503 and "rolled_back" in refused.json()["detail"]
        health = client.get("/health").json()
        assert health["queries"].startswith("unavailable (phase rolled_back")
        assert client.get("/ready").status_code == 503
        assert client.get("/api/queue/getQueue", params={"queueType": "unsigned_users"}).status_code == 503
        assert event_count(database_url) == after
    tracker.sql_recorder.close()


def test_a_poison_event_keeps_the_follower_retrying_and_ready_names_its_position(database_url: str) -> None:
    bring_to(database_url, Phase.CUT_OVER, users=0)
    tracker = open_tracker(Settings(database_url=database_url))
    tracker.agents = None  # a writer that did not check agents: this event cannot be projected
    poison = tracker.execute(commands.RecordConversion(user_id=2, conversion_type="signed", primary_agent_id=404))
    with app_client(database_url) as client:
        assert eventually(lambda: client.get("/ready").json().get("stuck") is not None)
        ready = client.get("/ready")
        assert ready.status_code == 503
        stuck = ready.json()["stuck"]
        assert ready.json()["projected"] < stuck["position"] <= (poison.position or 0)
        assert f"at position {stuck['position']}" in stuck["detail"]
        written = client.post("/api/call-attempts", json={"user_id": 7, "agent_id": 1, "outcome": "answered"})
        assert written.status_code == 201, written.text  # commands are still taken

        with tracker.sql_recorder.engine.begin() as conn:  # the cause fixed: the retry applies it
            conn.execute(
                text(
                    "INSERT INTO agents (id, name, email, is_active, created_at) "
                    "VALUES (404, 'Late', 'late@example.com', 1, '2026-01-01 00:00:00')"
                )
            )
        caught_up = written.json()["position"] or 0

        def ready_and_caught_up() -> bool:
            response = client.get("/ready")
            return response.status_code == 200 and response.json()["projected"] >= caught_up

        assert eventually(ready_and_caught_up, timeout=40)
    tracker.sql_recorder.close()
