"""Test session fixtures: a real MariaDB server started for the session, and fresh
databases (MariaDB and SQLite) per test.

Every test that uses the server (its fixtures, or the ``mariadb`` run of ``database_url``)
is marked ``mariadb``, so ``pytest -m "not mariadb"`` runs the SQLite-only part and never
starts the server. Tests that take more than a few seconds are marked ``slow`` where they
are defined."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mariadb_server import MariaDBServer

MARIADB_FIXTURES = frozenset({"mariadb_server", "mariadb_url"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_mariadb = callspec is not None and callspec.params.get("database_url") == "mariadb"
        if on_mariadb or MARIADB_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mariadb)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    server = MariaDBServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mariadb_url(mariadb_server: MariaDBServer) -> Iterator[str]:
    name = mariadb_server.create_database()
    try:
        yield mariadb_server.url(name)
    finally:
        mariadb_server.drop_database(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tracker.sqlite3'}"


@pytest.fixture(params=["sqlite", "mariadb"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on SQLite and once on the session's MariaDB."""
    name = "sqlite_url" if request.param == "sqlite" else "mariadb_url"
    return str(request.getfixturevalue(name))
