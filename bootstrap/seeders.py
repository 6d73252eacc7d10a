"""Which path seeds the events, decided once for assess, bootstrap and verify, and the
small interface both paths implement.

- the **server path** (``server_seed.ServerSeeder``): the legacy tables and the tracker
  share one MariaDB/MySQL database and every legacy column type has an exact SQL
  rendering (``seed_sql``); the database builds the seed events with ``INSERT … SELECT``.
- the **Python path** (``python_seed.PythonSeeder``): anywhere else (SQLite, legacy tables
  in another database, a column type without an exact rendering), or when asked for;
  the domain makes the events from one consistent snapshot. (A dry run writes nothing:
  ``bootstrapper.plan_bootstrap`` names the path the real run takes.)

Verify compares rows in the server exactly when the bootstrap took the server path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from sqlalchemy import Engine

from bootstrap.legacy_source import LegacySource
from bootstrap.seed_sql import legacy_columns, unsupported
from infrastructure.database import database_identity, is_sqlite

Progress = Callable[[int, int], None]
SERVER: Literal["server"] = "server"
PYTHON: Literal["python"] = "python"


@dataclass(frozen=True)
class SeederChoice:
    """``path`` is ``"server"`` or ``"python"``; ``reason`` says why the server path does not
    run (empty when it does)."""

    path: Literal["server", "python"]
    reason: str = ""

    @property
    def in_server(self) -> bool:
        return self.path == SERVER

    def describe(self) -> str:
        """As the bootstrap report names it."""
        return "server path (INSERT … SELECT in the database)" if self.in_server else f"Python path ({self.reason})"


def choose_seeder(tracker_engine: Engine, source: LegacySource, *, in_server: bool = True) -> SeederChoice:
    """The one rule. ``tracker_engine`` is the tracker's database (assess, which has no
    tracker yet, passes the legacy engine: the tracker is meant to live there)."""
    if not in_server:
        return SeederChoice(PYTHON, "asked for")
    if is_sqlite(tracker_engine) or is_sqlite(source.engine):
        return SeederChoice(PYTHON, "SQLite")
    if not same_database(tracker_engine, source.engine):
        return SeederChoice(PYTHON, "legacy tables in another database")
    missing = unsupported(legacy_columns(source))
    if missing:
        return SeederChoice(PYTHON, f"column types without an exact server expression: {', '.join(missing)}")
    return SeederChoice(SERVER)


def same_database(a: Engine, b: Engine) -> bool:
    return database_identity(a.url) == database_identity(b.url)


class Seeder(Protocol):
    """What the bootstrap asks of either path."""

    def seed(self, counts: dict[str, int], progress: Progress | None, total: int) -> int:
        """Write every legacy row's seed event (skipping those already stored), adding to
        ``counts``; return how many legacy rows were seeded (for progress)."""
        ...

    def confirm_legacy_unchanged(self) -> None:
        """Raise ``OperationRefused`` unless every legacy row was read as of one moment."""
        ...
