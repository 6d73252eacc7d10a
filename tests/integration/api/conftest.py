from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.app import create_app
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import bring_to


@pytest.fixture
def live_url(database_url: str) -> str:
    """``database_url`` cut over from an empty legacy database (agents 1-12 only): the API
    takes commands only in phase cut_over."""
    bring_to(database_url, Phase.CUT_OVER, users=0)
    return database_url


@pytest.fixture
def api_key(live_url: str) -> str:
    recorder = open_tracker(Settings(database_url=live_url)).sql_recorder
    try:
        return ApiKeys(recorder.engine).create("web-app")
    finally:
        recorder.close()


@pytest.fixture
def client(live_url: str, api_key: str) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=live_url, poll_interval_seconds=0.02))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["X-API-Key"] = api_key
        yield test_client
