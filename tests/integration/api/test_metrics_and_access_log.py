"""/metrics and the access log of one in-process API (SQLite and MariaDB): routes by
template, commands by outcome, key failures by reason, and the key requirement."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from infrastructure.api.app import create_app
from infrastructure.settings import Settings


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_route_template_command_outcome_and_key_failure(client: TestClient) -> None:
    """The counters live in this test process, shared by every test: compare before and after."""
    before = scrape(client)
    created = client.post("/api/queue", json={"user_id": 5, "queue_type": "unsigned_users", "priority_score": 1})
    entry = created.json()["ids"]["entry_id"]
    assert client.post(f"/api/queue/{entry}/assign", json={"agent_id": 3}).status_code == 201
    assert client.post(f"/api/queue/{entry}/assign", json={"agent_id": 999_999}).status_code == 404  # no such agent
    assert client.post(f"/api/queue/{entry}/assign", json={"agent_id": "x"}).status_code == 422
    assert client.get("/no/such/route").status_code == 404
    bare = TestClient(client.app)
    assert bare.post(f"/api/queue/{entry}/assign", json={"agent_id": 3}).status_code == 401
    assert bare.get("/api/scores/5", headers={"X-API-Key": "ct_wrong"}).status_code == 401
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    route = "/api/queue/{entry_id}/assign"
    seconds = "convtrack_http_request_duration_seconds_count"
    assert grew(seconds, method="POST", route=route, status="201") == 1
    assert grew(seconds, method="POST", route=route, status="422") == 1
    assert grew(seconds, method="GET", route="unmatched", status="404") == 1
    assert grew("convtrack_commands_total", command="assign", outcome="recorded") == 1
    assert grew("convtrack_commands_total", command="assign", outcome="invalid") == 1
    assert grew("convtrack_commands_total", command="assign", outcome="not_found") == 1
    assert grew("convtrack_commands_total", command="assign", outcome="unauthorized") == 1
    assert grew("convtrack_api_key_failures_total", reason="missing") == 1
    assert grew("convtrack_api_key_failures_total", reason="unknown") == 1
    assert not any(entry in str(labels) for _, labels in after)
    assert value(after, "convtrack_store_up") == 1
    assert value(after, "convtrack_projection_lag_events", projection="live") >= 0
    assert ("convtrack_projection_lag_seconds", frozenset({("projection", "live")})) in after


def test_every_request_has_one_access_line_with_the_keys_name_never_the_key(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    key = client.headers["X-API-Key"]
    with caplog.at_level(logging.INFO, logger="convtrack.access"):
        client.get("/api/scores/5", headers={"X-Request-ID": "abc-123"})
        client.get("/health")
    lines = [record for record in caplog.records if record.name == "convtrack.access"]
    assert [(r.method, r.path) for r in lines] == [("GET", "/api/scores/5"), ("GET", "/health")]  # type: ignore[attr-defined]
    first = lines[0]
    assert first.request_id == "abc-123" and first.key_name == "web-app"  # type: ignore[attr-defined]
    assert first.status == 404 and first.duration_ms >= 0  # type: ignore[attr-defined]
    assert "request_id=abc-123 key=web-app" in first.getMessage()
    assert lines[1].key_name is None  # type: ignore[attr-defined]
    assert all(key not in record.getMessage() and key not in str(record.__dict__) for record in caplog.records)


def test_metrics_need_a_key_only_when_configured(live_url: str, api_key: str) -> None:
    with TestClient(create_app(Settings(database_url=live_url, metrics_require_key=True))) as guarded:
        assert guarded.get("/metrics").status_code == 401
        answer = guarded.get("/metrics", headers={"X-API-Key": api_key})
        assert answer.status_code == 200 and "convtrack_projection_position" in answer.text
    with TestClient(create_app(Settings(database_url=live_url))) as open_metrics:
        assert open_metrics.get("/metrics").status_code == 200
        assert "/metrics" not in open_metrics.get("/openapi.json").json()["paths"]
