"""`verify --live` against plain `verify`, at the same size, in one run, on MariaDB.

    .venv/bin/python -m tests.benchmarks.bench_verify_live --users 20000

Generates a legacy database of ``--users`` users, bootstraps it and times `verify` (legacy
against staging); cuts over, records a few commands and times `verify --live` (the live
tables against the events replayed afresh into scratch tables, then compared). Prints both
times and their ratio as JSON. Both run in this process, through the same functions the
CLI calls (``bootstrap.verify.verify`` and ``live_check.check_live``).
"""

from __future__ import annotations

import argparse
import json
import time

from bootstrap.bootstrapper import Bootstrapper
from bootstrap.cutover import cutover
from bootstrap.legacy_source import LegacySource
from bootstrap.sample_data import generate
from bootstrap.verify import verify
from domain import commands
from infrastructure.database import make_engine
from infrastructure.projections.live_check import check_live
from infrastructure.projections.rebuild import open_live_tables
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.mariadb_server import MariaDBServer


def measure(url: str, users: int, workers: int | None) -> dict[str, float | int]:
    engine = make_engine(url)
    started = time.perf_counter()
    generate(engine, users=users, seed=1)
    engine.dispose()
    generated = time.perf_counter()
    tracker = open_tracker(Settings(database_url=url))
    source = LegacySource(url)
    Bootstrapper(tracker, source, batch_size=2000).run()
    bootstrapped = time.perf_counter()
    report = verify(tracker, source)
    verified = time.perf_counter()
    assert report.ok, report.checks
    cutover(tracker, source)
    for user in range(10_003, 10_013):
        tracker.execute(commands.RecordCallAttempt(user_id=user, agent_id=2, outcome="answered"))
    ProjectionRunner(tracker, open_live_tables(tracker)).run_once()
    live_started = time.perf_counter()
    found = check_live(tracker, workers=workers)
    live_done = time.perf_counter()
    assert found.total == 0, found.rows[:5]
    return {
        "users": users,
        "events": found.position,
        "generate_s": round(generated - started, 1),
        "bootstrap_s": round(bootstrapped - generated, 1),
        "verify_s": round(verified - bootstrapped, 2),
        "verify_live_s": round(live_done - live_started, 2),
        "verify_live_over_verify": round((live_done - live_started) / (verified - bootstrapped), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=None, help="replay processes (default: as rebuild)")
    args = parser.parse_args()
    server = MariaDBServer(buffer_pool="1G").start()
    try:
        print(json.dumps(measure(server.url(server.create_database()), args.users, args.workers)), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
