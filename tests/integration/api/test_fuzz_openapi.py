"""Schemathesis generates requests from the API's own OpenAPI schema and sends them to
the app (with its lifespan: embedded follower, real MariaDB): none may get a 500."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.app import create_app
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import bring_to
from tests.support.mariadb_server import MariaDBServer

EXAMPLES_PER_OPERATION = 80  # 14 operations -> about 1,260 requests


@pytest.mark.slow
def test_no_generated_request_gets_a_500(mariadb_server: MariaDBServer) -> None:
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
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} {request.get('params')} "
                        f"{str(request.get('json'))[:200]} -> {response.status_code} {response.text[:200]}"
                    )

            send()
    total = sum(statuses.values())
    print(statuses, time.monotonic() - started)
    assert total >= 1000, statuses
    assert not failures, "\n".join(failures[:10])
    assert statuses[201] + statuses[200] > 0 and statuses[422] > 0, statuses  # it reached both sides
