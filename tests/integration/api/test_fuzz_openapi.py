"""Schemathesis generates requests from the API's own OpenAPI schema and sends them to
the app (with its lifespan: embedded follower, real MariaDB): none may get a 500, and every
answer must be one the document promises (its status code, content type, headers and a
body that validates against the response schema)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.app import create_app
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import bring_to
from tests.support.mariadb_server import MariaDBServer

EXAMPLES_PER_OPERATION = 80  # 15 operations -> about 1,300 requests
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.mark.slow
def test_no_generated_request_gets_a_500_or_an_answer_the_document_does_not_promise(
    mariadb_server: MariaDBServer,
) -> None:
    url = mariadb_server.url(mariadb_server.create_database())
    bring_to(url, Phase.CUT_OVER)  # commands and queries are served only while cut over
    key = ApiKeys(open_tracker(Settings(database_url=url)).sql_recorder.engine).create("fuzzer")
    app = create_app(Settings(database_url=url, poll_interval_seconds=0.05))
    statuses: Counter[int] = Counter()
    started = time.monotonic()
    failures: list[str] = []
    with TestClient(app, raise_server_exceptions=False) as client:
        schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 13

        for operation in operations:

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
            )
            @given(case=operation.as_strategy())
            def send(case: schemathesis.Case) -> None:
                request = case.as_transport_kwargs(base_url="http://testserver", headers={"X-API-Key": key})
                if isinstance(request.get("params"), dict) and "min_position" in request["params"]:
                    request["params"]["wait_seconds"] = 5  # bounded: a reachable position projects well within it
                response = client.request(
                    **{
                        k: v
                        for k, v in request.items()
                        if k in {"method", "url", "headers", "params", "json", "content", "data"}
                    }
                )
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=request.get("headers"))
                except (AssertionError, FailureGroup) as failure:  # one failed check, or a group of them
                    failures.append(
                        f"{case.method} {case.formatted_path} {request.get('params')} "
                        f"{str(request.get('json'))[:200]} -> {response.status_code} {response.text[:200]}\n"
                        f"{str(failure)[:600]}"
                    )

            send()
    total = sum(statuses.values())
    print(statuses, time.monotonic() - started)
    assert total >= 1000, statuses
    assert not failures, "\n".join(failures[:10])
    assert statuses[201] + statuses[200] > 0 and statuses[422] > 0, statuses  # it reached both sides


def test_the_checks_catch_an_answer_the_document_does_not_promise(client: TestClient) -> None:
    """The checks above can fail: a score row's operation answered with health facts (wrong
    body), and /health answered with a 404 (a status it does not document)."""
    schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    wrong_body = client.get("/health")
    with pytest.raises((AssertionError, FailureGroup)) as caught:
        schema["/api/scores/{user_id}"]["GET"].Case(path_parameters={"user_id": 1}).validate_response(
            wrong_body, checks=[response_schema_conformance]
        )
    assert "violates schema" in repr(
        caught.value.exceptions if isinstance(caught.value, FailureGroup) else caught.value
    )
    with pytest.raises((AssertionError, FailureGroup)) as caught:
        schema["/health"]["GET"].Case().validate_response(client.get("/nothing"), checks=[status_code_conformance])
    assert "404" in str(caught.value) or "404" in repr(getattr(caught.value, "exceptions", ""))
    schema["/health"]["GET"].Case().validate_response(client.get("/health"), checks=CHECKS)
