from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.app import create_app
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker


@pytest.fixture
def api_key(database_url: str) -> str:
    return ApiKeys(open_tracker(Settings(database_url=database_url)).sql_recorder.engine).create("web-app")


@pytest.fixture
def client(database_url: str, api_key: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database_url, poll_interval_seconds=0.02))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["X-API-Key"] = api_key
        yield test_client
