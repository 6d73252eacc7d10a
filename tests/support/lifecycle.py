"""Bring a test database to a phase of the lifecycle the way an operator would, in
process: a small generated legacy database, then bootstrap, cutover, rollback."""

from __future__ import annotations

from bootstrap.bootstrapper import Bootstrapper
from bootstrap.cutover import cutover, rollback
from bootstrap.legacy_source import LegacySource
from bootstrap.sample_data import generate
from domain.lifecycle import Phase
from infrastructure.database import make_engine
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker, read_lifecycle


def bring_to(database_url: str, phase: Phase, *, users: int = 40, seed: int = 3) -> None:
    """``database_url`` ends in ``phase`` (legacy tables generated first when the database
    has none: ``users`` users with their scores, queue rows, sessions and agents 1-12)."""
    if phase is Phase.NOT_BOOTSTRAPPED:
        return
    engine = make_engine(database_url)
    generate(engine, users=users, seed=seed)
    engine.dispose()
    source = LegacySource(database_url)
    tracker = open_tracker(Settings(database_url=database_url))
    try:
        if phase is Phase.BOOTSTRAPPING:
            raise ValueError("bootstrapping is a phase of an interrupted bootstrap: kill one to reach it")
        Bootstrapper(tracker, source).run()
        if phase in (Phase.CUT_OVER, Phase.ROLLED_BACK):
            cutover(tracker, source)
        if phase is Phase.ROLLED_BACK:
            rollback(tracker, database_url)
    finally:
        source.close()
        tracker.sql_recorder.close()
    assert read_lifecycle(Settings(database_url=database_url)).phase is phase
