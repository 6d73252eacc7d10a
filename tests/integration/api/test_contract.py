"""The contract an agents' service codes against: one problem shape for every error (the
framework's own too), X-Request-ID on every response, typed ids, one pagination envelope,
and an OpenAPI document that says all of it (security, models, errors, examples)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.values import BIGINT_MAX
from infrastructure.settings import Settings
from tests.support.db_state import event_count

PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance", "request_id", "errors"}
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_MEMBERS and body["status"] == status, body
    assert body["request_id"] == response.headers["x-request-id"]
    return body


def test_the_frameworks_own_errors_are_problems_too(client: TestClient) -> None:
    missing = problem(client.get("/api/nothing-here"), 404)
    assert (
        missing["type"] == "about:blank"
        and missing["title"] == "Not Found"
        and missing["instance"] == "/api/nothing-here"
    )
    wrong_method = problem(client.delete("/api/conversions"), 405)
    assert "DELETE" in wrong_method["detail"] and "GET" in wrong_method["detail"]
    asset = problem(client.get("/docs/assets/nope.js"), 404)
    assert asset["errors"] == []


def test_undecodable_bodies_are_422_naming_the_body_and_write_nothing(client: TestClient, database_url: str) -> None:
    before = event_count(database_url)
    json_headers = {"Content-Type": "application/json"}
    malformed = problem(client.post("/api/queue", content=b'{"user_id": 1,', headers=json_headers), 422)
    assert malformed["errors"][0]["field"] == "body" and "not valid JSON" in malformed["errors"][0]["detail"]
    latin1 = '{"user_id": 1, "queue_type": "unsigned_users", "reason": "café"}'.encode("latin-1")
    not_utf8 = problem(client.post("/api/queue", content=latin1, headers=json_headers), 422)
    assert not_utf8["errors"] == [{"field": "body", "location": "body", "detail": "is not UTF-8 encoded JSON"}]
    assert event_count(database_url) == before


def test_a_body_over_1_mib_is_413_whether_its_length_is_declared_or_chunked(
    client: TestClient, database_url: str
) -> None:
    before = event_count(database_url)
    big = b'{"user_id": 1, "queue_type": "unsigned_users", "reason": "' + b"x" * (1024 * 1024) + b'"}'
    declared = problem(client.post("/api/queue", content=big, headers={"Content-Type": "application/json"}), 413)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    chunked = problem(client.post("/api/queue", content=chunks(), headers={"Content-Type": "application/json"}), 413)
    assert declared["type"] == chunked["type"] == "urn:convtrack:problem:body-too-large"
    assert event_count(database_url) == before


def test_invalid_fields_are_listed_in_words(client: TestClient) -> None:
    body = problem(client.post("/api/queue", json={"user_id": "1", "queue_type": "callback", "extra": 1}), 422)
    fields = {error["field"]: error for error in body["errors"]}
    assert set(fields) == {"user_id", "queue_type", "extra"}
    assert fields["queue_type"]["detail"] == "must be one of outstanding_requests or unsigned_users"
    assert fields["extra"]["detail"] == "is not a field of this request"
    assert all(error["location"] == "body" for error in body["errors"])
    money = problem(
        client.post("/api/conversions", json={"user_id": 1, "conversion_type": "x", "claim_value": "1e3"}), 422
    )
    assert "^" not in money["detail"] and "exact decimal" in money["errors"][0]["detail"]
    query = problem(client.get("/api/queue", params={"limit": 0, "queue_type": "unsigned_users"}), 422)
    assert query["errors"][0] == {**query["errors"][0], "field": "limit", "location": "query"}
    no_queue = problem(client.get("/api/queue"), 422)
    assert no_queue["errors"][0]["field"] == "queue_type" and no_queue["errors"][0]["location"] == "query"


def test_every_response_carries_a_request_id_the_callers_when_acceptable(client: TestClient) -> None:
    generated = client.get("/health").headers["x-request-id"]
    assert uuid.UUID(generated).version == 4
    assert client.get("/health", headers={"X-Request-ID": "crm-7731:try/2"}).headers["x-request-id"] == "crm-7731:try/2"
    for refused in ("x" * 201, "a b", "evil\u00e9", ""):
        echoed = client.get("/health", headers={"X-Request-ID": refused.encode("utf-8")}).headers["x-request-id"]
        assert uuid.UUID(echoed).version == 4, refused
    error = problem(client.get("/api/scores/404404", headers={"X-Request-ID": "req-404"}), 404)
    assert error["request_id"] == "req-404" and error["type"] == "urn:convtrack:problem:unknown-user"


def test_ids_are_typed_and_a_conversion_lists_the_entries_it_completed(client: TestClient) -> None:
    entries = [
        client.post("/api/queue", json={"user_id": 31, "queue_type": q, "entry_id": f"e,{q}"}).json()["ids"]["entry_id"]
        for q in ("unsigned_users", "outstanding_requests")  # a comma in an id: the list keeps it whole
    ]
    body = {"user_id": 31, "conversion_type": "signed", "conversion_id": "c-31"}
    first = client.post("/api/conversions", json=body, headers={"Idempotency-Key": "k-31"})
    assert first.status_code == 201, first.text
    ids = first.json()["ids"]
    assert ids["user_id"] == 31 and sorted(ids["completed_entries"]) == sorted(entries)
    assert client.post("/api/conversions", json=body, headers={"Idempotency-Key": "k-31"}).json()["ids"] == ids
    alone = client.post("/api/conversions", json={"user_id": 32, "conversion_type": "signed"}).json()["ids"]
    assert alone["completed_entries"] == []


def test_every_list_has_one_envelope_and_pages_to_the_end(client: TestClient) -> None:
    last = None
    for user in range(5):
        last = client.post(
            "/api/queue", json={"user_id": 40 + user, "queue_type": "unsigned_users", "priority_score": user}
        )
    seen: list[str] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:
        params = {"queue_type": "unsigned_users", "limit": 2, "offset": offset, "min_position": last.json()["position"]}
        page = client.get("/api/queue", params=params).json()
        assert set(page) == {"queue_type", "items", "limit", "offset", "next_offset", "has_more"}
        assert page["has_more"] is (page["next_offset"] is not None)
        seen += [entry["id"] for entry in page["items"]]
        offset, pages = page["next_offset"], pages + 1
    assert pages == 3 and len(set(seen)) == 5
    assert all(
        RFC3339_UTC.match(e["created_at"]) for e in client.get("/api/queue?queue_type=unsigned_users").json()["items"]
    )
    same = client.get("/api/queue/getQueue", params={"queueType": "unsigned_users"}).json()
    assert [e["id"] for e in same["items"]] == seen
    clash = client.get("/api/queue", params={"queue_type": "unsigned_users", "queueType": "outstanding_requests"})
    assert problem(clash, 422)["errors"][0]["field"] == "queueType"
    for path in ("/api/conversions", "/api/conversions/totals"):
        assert set(client.get(path).json()) == {"items", "limit", "offset", "next_offset", "has_more"}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    from infrastructure.api.app import create_app

    return create_app(Settings(database_url="sqlite://")).openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield path, method, operation


def test_the_document_names_its_security_and_applies_it_to_all_but_health(openapi: dict[str, Any]) -> None:
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["Bearer"]["type"] == "http" and schemes["Bearer"]["scheme"] == "bearer"
    for path, _, operation in operations(openapi):
        names = {p["name"].lower() for p in operation.get("parameters", [])}
        assert not names & {"x-api-key", "authorization"}, path
        expected = None if path in {"/health", "/ready"} else [{"ApiKey": []}, {"Bearer": []}]
        assert operation.get("security") == expected, path


def test_every_response_is_a_named_model_and_every_error_a_problem_with_an_example(openapi: dict[str, Any]) -> None:
    schemas = openapi["components"]["schemas"]
    assert {"Problem", "InvalidField", "ScoreRow", "QueueEntry", "ConversionRow", "Health", "NotReady"} <= set(schemas)
    for path, method, operation in operations(openapi):
        for status, response in operation["responses"].items():
            [(media, content)] = response["content"].items()
            assert content["schema"]["$ref"].startswith("#/components/schemas/"), (path, status)
            assert "X-Request-ID" in response["headers"]
            if int(status) >= 400 and path != "/ready":
                assert media == "application/problem+json" and content["schema"]["$ref"].endswith("/Problem")
                assert content["example"]["status"] == int(status), (path, status)
        statuses = set(operation["responses"])
        if method == "get":
            assert not statuses & {"409", "413"}, path
        if path in {"/health"}:
            assert statuses == {"200"}
        if "requestBody" in operation:
            [content] = operation["requestBody"]["content"].values()
            assert content["examples"]["example"]["value"], path
    assert set(openapi["paths"]["/ready"]["get"]["responses"]) == {"200", "503"}
    assert "404" not in openapi["paths"]["/api/queue"]["post"]["responses"]
    assert "404" in openapi["paths"]["/api/queue/{entry_id}/assign"]["post"]["responses"]


def test_the_document_types_json_fields_and_keeps_integer_bounds_exact(openapi: dict[str, Any]) -> None:
    text = str(openapi)
    assert "e+18" not in text and "2147483647.0" not in text
    body = openapi["components"]["schemas"]["RecordConversion"]["properties"]
    assert body["user_id"]["maximum"] == BIGINT_MAX and isinstance(body["user_id"]["maximum"], int)
    assert body["user_id"]["format"] == "int64"
    assert "array" in body["documents_received"]["anyOf"][0]["type"]
    row = openapi["components"]["schemas"]["ConversionRow"]["properties"]
    assert "object" in row["requirements_met"]["type"]
    assert row["converted_at"]["format"] == "date-time"


def test_the_docs_pages_load_their_assets_from_the_app(client: TestClient) -> None:
    for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        html = client.get(page).text
        assert f"/docs/assets/{asset}" in html
        assert not re.search(r"""(src|href)=["']https?://""", html), page
        served = client.get(f"/docs/assets/{asset}")
        assert served.status_code == 200 and len(served.content) > 100_000


def test_an_unexpected_failure_is_a_500_problem_with_the_request_id(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infrastructure.api.read_model import ReadModel

    def broken(_self: ReadModel, _user_id: int) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ReadModel, "score", broken)
    failed = problem(client.get("/api/scores/1", headers={"X-Request-ID": "req-500"}), 500)
    assert failed["request_id"] == "req-500" and "a bug" not in failed["detail"]


def test_a_value_a_domain_rule_refuses_is_the_same_kind_of_problem_as_a_schema_violation(client: TestClient) -> None:
    rule = problem(
        client.post("/api/conversions", json={"user_id": 1, "conversion_type": "  ", "claim_value": "1"}), 422
    )
    schema = problem(client.post("/api/conversions", json={"user_id": 1}), 422)
    assert rule["type"] == schema["type"] == "urn:convtrack:problem:invalid-request"
    assert schema["errors"][0] == {"field": "conversion_type", "location": "body", "detail": "is required"}
    moment = problem(client.get("/api/conversions", params={"since": "9999-12-31T23:59:59-05:00"}), 422)
    assert moment["errors"][0]["field"] == "since" and moment["errors"][0]["location"] == "query"


def test_the_instance_of_a_problem_is_the_path_percent_encoded(client: TestClient) -> None:
    unknown = problem(client.post("/api/conversions/caf%C3%A9%01/reverse", json={"reason": "x"}), 404)
    assert unknown["instance"] == "/api/conversions/caf%C3%A9%01/reverse"
