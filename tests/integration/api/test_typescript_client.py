"""A TypeScript client generated from the live server's /openapi.json (openapi-typescript
types, openapi-fetch calls), type-checked with tsc against that document, then run with
node's test runner against ``convtrack serve`` on MariaDB: a call attempt and its score,
a conversion recorded once under an idempotency key and replayed, a queue paged through,
a user's history read page by page with its actors, request ids and idempotency
keys, a 422 naming the field and a 401, both RFC 9457 problems. What it expects of response shapes is in
tests/clients/typescript/test/shapes.ts."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.database import make_engine
from tests.clients import node_project
from tests.clients.sql import one_row
from tests.support.lifecycle import bring_to
from tests.support.mariadb_server import free_port
from tests.support.processes import start_convtrack
from tests.support.waiting import eventually

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def typescript_project() -> Path:
    return node_project.install("typescript")


@pytest.fixture
def served(mariadb_url: str) -> Iterator[tuple[str, str]]:
    """``convtrack serve`` on a cut-over MariaDB database: (base URL, an API key)."""
    bring_to(mariadb_url, Phase.CUT_OVER, users=0)  # agents 1-12
    engine = make_engine(mariadb_url)
    key = ApiKeys(engine).create("typescript-client")
    engine.dispose()
    port = free_port()
    serve = start_convtrack(mariadb_url, "serve", "--port", str(port), "--workers", "1")
    base = f"http://127.0.0.1:{port}"
    try:
        assert eventually(lambda: is_ready(base, serve), 60), "convtrack serve did not become ready"
        yield base, key
    finally:
        serve.terminate()
        try:
            serve.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.communicate()


def is_ready(base: str, serve: subprocess.Popen[str]) -> bool:
    if serve.poll() is not None:
        raise AssertionError(f"convtrack serve exited {serve.returncode}: {serve.communicate()[1]}")
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_typescript_client_generated_from_the_openapi_document_type_checks_and_works(
    typescript_project: Path, served: tuple[str, str], mariadb_url: str
) -> None:
    base, key = served
    generated = typescript_project / "generated"
    generated.mkdir(exist_ok=True)
    (generated / "openapi.json").write_text(httpx.get(f"{base}/openapi.json", timeout=10).text, encoding="utf-8")
    openapi_typescript = node_project.bin_of(typescript_project, "openapi-typescript")
    # a field with a default may be left out of a request body (openapi-typescript would require it)
    node_project.run(
        typescript_project, openapi_typescript, "generated/openapi.json", "-o", "generated/api.ts",
        "--default-non-nullable", "false",
    )  # fmt: skip
    node_project.run(typescript_project, node_project.bin_of(typescript_project, "tsc"), "-p", ".")

    passed = node_project.node_test(
        typescript_project,
        "build/test/api_client.test.js",
        env={"CONVTRACK_BASE_URL": base, "CONVTRACK_API_KEY": key},
    )
    assert passed == 6

    recorded = one_row(
        mariadb_url, "SELECT COUNT(*), MIN(claim_value) FROM conversions WHERE conversion_type = 'signed_ts_client'"
    )
    assert recorded == (1, Decimal("1250.05"))
