"""What the command edge accepts, every projection can apply: the same rules on HTTP (422
naming the field) and on the command line (exit 2, one line), and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from domain.values import JSON_MAX_BYTES, JSON_MAX_DEPTH, TEXT_MAX_BYTES, VARCHAR_MAX_CHARS
from infrastructure.database import make_engine
from tests.support.db_state import event_count
from tests.support.in_process_cli import run_cli

PAST_UTC = "9999-12-31T23:59:59-05:00"  # year 10000 in UTC
UNICODE_DIGITS = "٣٤.٥٠"  # Arabic-Indic 34.50
TOO_MANY_BYTES = "é" * (TEXT_MAX_BYTES // 2 + 1)  # fewer characters than TEXT_MAX_BYTES, more bytes


def nested(depth: int) -> list[Any]:
    """Arrays nested ``depth`` levels deep (``[]`` is one level)."""
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


def nested_objects(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"k": value}
    return value


CONVERSION = {"user_id": 5, "conversion_type": "signed"}
CALL = {"user_id": 5, "agent_id": 1, "outcome": "answered"}
HTTP_REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("/api/conversions", {**CONVERSION, "documents_received": nested(JSON_MAX_DEPTH + 1)}, "documents_received"),
    ("/api/conversions", {**CONVERSION, "requirements_met": nested_objects(JSON_MAX_DEPTH + 1)}, "requirements_met"),
    ("/api/conversions", {**CONVERSION, "converted_at": PAST_UTC}, "converted_at"),
    ("/api/conversions", {**CONVERSION, "converted_at": 1_764_547_200}, "converted_at"),
    ("/api/conversions", {**CONVERSION, "converted_at": 1_764_547_200.5}, "converted_at"),
    ("/api/conversions", {**CONVERSION, "claim_value": "1e3"}, "claim_value"),
    ("/api/conversions", {**CONVERSION, "claim_value": UNICODE_DIGITS}, "claim_value"),
    ("/api/conversions", {**CONVERSION, "estimated_commission": "1.00\n"}, "estimated_commission"),
    ("/api/conversions", {**CONVERSION, "claim_value": " 12.00"}, "claim_value"),
    ("/api/conversions", {**CONVERSION, "conversion_type": "x" * (VARCHAR_MAX_CHARS + 1)}, "conversion_type"),
    ("/api/conversions", {**CONVERSION, "conversion_reason": TOO_MANY_BYTES}, "conversion_reason"),
    ("/api/call-attempts", {**CALL, "called_at": PAST_UTC}, "called_at"),
    ("/api/call-attempts", {**CALL, "called_at": 0}, "called_at"),
    ("/api/queue/e-1/callback", {"scheduled_for": PAST_UTC}, "scheduled_for"),
    ("/api/queue/e-1/callback", {"scheduled_for": "2026-12-01T09:30:00Z", "reason": TOO_MANY_BYTES}, "reason"),
    ("/api/queue", {"user_id": 5, "queue_type": "unsigned_users", "entry_id": "é" * 192}, "entry_id"),
]


@pytest.mark.parametrize(("path", "body", "field"), HTTP_REFUSALS, ids=[f"{p}:{f}" for p, _, f in HTTP_REFUSALS])
def test_http_refuses_what_a_projection_could_not_apply_naming_the_field(
    client: TestClient, database_url: str, path: str, body: dict[str, Any], field: str
) -> None:
    before = event_count(database_url)
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"] == field, response.json()
    assert event_count(database_url) == before


@pytest.mark.parametrize("name", ["since", "until"])
def test_the_query_filters_refuse_a_moment_past_year_9999_in_utc_with_a_422(client: TestClient, name: str) -> None:
    response = client.get("/api/conversions", params={name: PAST_UTC})
    assert response.status_code == 422, response.text
    assert name == response.json()["errors"][0]["field"]
    fine = client.get("/api/conversions", params={name: "9999-12-31T23:59:59+00:00"})
    assert fine.status_code == 200, fine.text


def test_the_limits_themselves_are_accepted_and_projected(client: TestClient) -> None:
    body = {
        "user_id": 6,
        "conversion_type": "x" * VARCHAR_MAX_CHARS,
        "conversion_reason": "é" * (TEXT_MAX_BYTES // 2),
        "documents_received": nested(JSON_MAX_DEPTH),
        "requirements_met": nested_objects(JSON_MAX_DEPTH),
        "claim_value": "-99999999.99",
        "converted_at": "9999-12-31T23:59:59.999+00:00",
    }
    written = client.post("/api/conversions", json=body)
    assert written.status_code == 201, written.text
    listed = client.get("/api/conversions", params={"min_position": written.json()["position"]})
    assert listed.status_code == 200, listed.text
    [row] = listed.json()["items"]
    assert row["documents_received"] == nested(JSON_MAX_DEPTH)
    assert row["requirements_met"] == nested_objects(JSON_MAX_DEPTH)
    assert row["claim_value"] == "-99999999.99" and row["converted_at"] == "9999-12-31T23:59:59.999Z"


def test_an_id_holding_a_slash_is_addressable_over_http(client: TestClient) -> None:
    recorded = client.post("/api/conversions", json={**CONVERSION, "conversion_id": "crm/7731"})
    assert recorded.status_code == 201, recorded.text
    reversed_ = client.post("/api/conversions/crm%2F7731/reverse", json={"reason": "by mistake"})
    assert reversed_.status_code == 201, reversed_.text
    again = client.post("/api/conversions/crm/7731/reverse", json={"reason": "twice"})
    assert again.status_code == 409 and "crm/7731" in again.json()["detail"]
    client.post("/api/queue", json={"user_id": 8, "queue_type": "unsigned_users", "entry_id": "q/1/2"})
    assert client.post("/api/queue/q/1/2/assign", json={"agent_id": 3}).status_code == 201
    paths = client.get("/openapi.json").json()["paths"]
    assert "/api/queue/{entry_id}/assign" in paths and "/api/conversions/{conversion_id}/reverse" in paths


CLI_REFUSALS: list[tuple[tuple[str, ...], str]] = [
    (("--documents-received", json.dumps(nested(JSON_MAX_DEPTH + 1))), "documents_received"),
    (("--requirements-met", json.dumps(nested_objects(JSON_MAX_DEPTH + 1))), "requirements_met"),
    (("--documents-received", "[" * 100_000 + "]" * 100_000), "documents_received"),
    (("--requirements-met", json.dumps(["x" * JSON_MAX_BYTES])), "requirements_met"),
    (("--converted-at", PAST_UTC), "converted_at"),
    (("--converted-at", "1764547200"), "converted_at"),
    (("--claim-value", "1e3"), "claim_value"),
    (("--claim-value", UNICODE_DIGITS), "claim_value"),
    (("--estimated-commission", "1_000"), "estimated_commission"),
    (("--conversion-type", "x" * (VARCHAR_MAX_CHARS + 1)), "conversion_type"),
    (("--reason", TOO_MANY_BYTES), "conversion_reason"),
]


def run_cli_on(
    database_url: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> tuple[int, str]:
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", database_url)
    code, _, stderr = run_cli(args, monkeypatch, capsys)
    return code, stderr


@pytest.mark.parametrize(("args", "field"), CLI_REFUSALS, ids=[f for _, f in CLI_REFUSALS])
def test_the_cli_refuses_the_same_values_with_exit_2_and_one_line(
    live_url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any, args: tuple[str, ...], field: str
) -> None:
    before = event_count(live_url)
    base = ("conversion", "record", "--user-id", "5", "--conversion-type", "signed")  # a repeated option: the last
    code, stderr = run_cli_on(live_url, (*base, *args), monkeypatch, capsys)
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {field}:"), stderr[:300]
    assert event_count(live_url) == before


@pytest.mark.parametrize(
    "args",
    [
        ("call", "record", "--user-id", "5", "--agent-id", "1", "--outcome", "x", "--called-at", PAST_UTC),
        ("queue", "callback", "e-1", "--scheduled-for", PAST_UTC),
    ],
)
def test_the_cli_refuses_a_moment_past_year_9999_in_utc_without_a_traceback(
    live_url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any, args: tuple[str, ...]
) -> None:
    code, stderr = run_cli_on(live_url, args, monkeypatch, capsys)
    assert code == 2 and len(stderr.strip().splitlines()) == 1 and "between the years 1000 and 9999" in stderr


def test_mariadb_json_columns_refuse_exactly_the_nesting_the_edge_refuses(mariadb_url: str) -> None:
    with make_engine(mariadb_url).connect() as conn:

        def valid(value: object) -> int:
            return int(conn.execute(text("SELECT JSON_VALID(:v)"), {"v": json.dumps(value)}).scalar() or 0)

        assert valid(nested(JSON_MAX_DEPTH)) == 1 and valid(nested(JSON_MAX_DEPTH + 1)) == 0
        assert valid(nested_objects(JSON_MAX_DEPTH)) == 1 and valid(nested_objects(JSON_MAX_DEPTH + 1)) == 0
        assert valid([1, {"a": nested(JSON_MAX_DEPTH - 2)}]) == 1 and valid([1, {"a": nested(JSON_MAX_DEPTH - 1)}]) == 0
