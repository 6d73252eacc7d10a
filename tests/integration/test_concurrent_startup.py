"""Several processes (API workers) starting at once on a fresh database all come up:
creating the schema is serialised, not raced."""

from __future__ import annotations

import multiprocessing

import pytest


def start_like_a_worker(url: str) -> None:
    from infrastructure.api.api_keys import ApiKeys
    from infrastructure.projections.rebuild import open_live_tables
    from infrastructure.projections.runner import ProjectionRunner
    from infrastructure.settings import Settings
    from infrastructure.wiring import open_tracker

    tracker = open_tracker(Settings(database_url=url))
    ProjectionRunner(tracker, open_live_tables(tracker))
    ApiKeys(tracker.sql_recorder.engine)


@pytest.mark.slow
def test_six_workers_starting_together_on_a_fresh_database_all_start(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=start_like_a_worker, args=(database_url,)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0] * 6
