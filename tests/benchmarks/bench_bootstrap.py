"""The bootstrap against the guide's SQL, on MariaDB, in one run.

    .venv/bin/python -m tests.benchmarks.bench_bootstrap --users 1000000

Generates the legacy data once (about 0.9 score rows, 1.4 queue rows and 5 sessions
per user); for each of ``--repeat`` runs, copies it server-side into two fresh databases,
then times (a) the guide's migration SQL on one copy and (b) `bootstrap` + staging
projection + `verify` on the other (in a child process, so its peak memory is its own).
Prints the ratio of each run.

    .venv/bin/python -m tests.benchmarks.bench_bootstrap --users 1000000 --repeat 2 --baseline ../old

``--baseline`` names another checkout (with its own ``.venv``): its code runs too, on a
fresh copy of the same data in every run, the two sides alternating which goes first, so
old and new code are compared side by side in one sitting.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from bootstrap.sample_data import generate
from infrastructure.database import make_engine
from tests.support.mariadb_server import MariaDBServer
from tests.support.sql_script import fixture_sql, statements

TABLES = ("agents", "user_call_scores", "call_queue", "call_sessions")


def ours(url: str) -> dict[str, float]:
    from bootstrap.bootstrapper import Bootstrapper
    from bootstrap.legacy_source import LegacySource
    from bootstrap.verify import verify
    from infrastructure.settings import Settings
    from infrastructure.wiring import open_tracker

    tracker = open_tracker(Settings(database_url=url))
    source = LegacySource(url)
    started = time.perf_counter()
    bootstrapper = Bootstrapper(tracker, source, batch_size=2000)
    run = bootstrapper.run()  # seeds, then projects the staging tables
    projected = time.perf_counter()
    report = verify(tracker, source)
    done = time.perf_counter()
    assert report.ok, report.checks
    return {
        "bootstrap_s": projected - started - run.seconds["projecting"],
        "projection_s": run.seconds["projecting"],
        "verify_s": done - projected,
        "total_s": done - started,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def copy_legacy(server: MariaDBServer, source: str, name: str) -> str:
    """A server-side copy of the legacy tables (same DDL, same rows)."""
    target = server.create_database(name)
    with server.root() as conn, conn.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"CREATE TABLE `{target}`.`{table}` LIKE `{source}`.`{table}`")
        cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in TABLES:
            cursor.execute(f"INSERT INTO `{target}`.`{table}` SELECT * FROM `{source}`.`{table}`")
    return target


def run_guide(server: MariaDBServer, pristine: str, run: int) -> float:
    """Seconds the guide's SQL takes on a fresh copy of the legacy tables."""
    guide_db = copy_legacy(server, pristine, f"legacy_guide_{run}")
    with server.root() as conn, conn.cursor() as cursor:
        cursor.execute(f"USE `{guide_db}`")
        started = time.perf_counter()
        for statement in statements(fixture_sql("guide_migration.sql")):
            cursor.execute(statement)
        seconds = time.perf_counter() - started
    server.drop_database(guide_db)
    return seconds


def run_ours(server: MariaDBServer, pristine: str, run: int, checkout: Path) -> dict[str, float]:
    """bootstrap + staging + verify, in a child process running ``checkout``'s code."""
    ours_db = copy_legacy(server, pristine, f"legacy_ours_{run}")
    python = checkout / ".venv" / "bin" / "python" if checkout != Path.cwd() else Path(sys.executable)
    out = subprocess.run(
        [str(python), "-m", "tests.benchmarks.bench_bootstrap", "--ours", server.url(ours_db)],
        capture_output=True,
        text=True,
        cwd=checkout,
    )
    if out.returncode != 0:
        raise SystemExit(out.stderr[-3000:])
    server.drop_database(ours_db)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs on the same generated data (fresh copies)")
    parser.add_argument("--ours", help="internal: run our side against this URL and print JSON")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="another checkout (with its own .venv) whose code also runs on each run's data, alternating order",
    )
    args = parser.parse_args()
    if args.ours:
        print(json.dumps(ours(args.ours)))
        return
    server = MariaDBServer(buffer_pool="4G").start()
    try:
        pristine = server.create_database("legacy_pristine")
        started = time.perf_counter()
        counts = generate(make_engine(server.url(pristine)), users=args.users, chunk=20_000)
        print(f"generated {counts} in {time.perf_counter() - started:.0f} s", flush=True)
        for run in range(1, args.repeat + 1):
            sides = {"ours": Path.cwd()} | ({"baseline": args.baseline} if args.baseline else {})
            order = list(sides) if run % 2 else list(reversed(sides))  # alternate which side runs first
            guide_s = run_guide(server, pristine, run)
            results = {side: run_ours(server, pristine, run, sides[side]) for side in order}
            row = {"run": run, "users": args.users, "legacy_rows": counts, "guide_sql_s": round(guide_s, 1)}
            for side in order:
                row[side] = {k: round(v, 1) for k, v in results[side].items()}
                row[side]["over_guide"] = round(results[side]["total_s"] / guide_s, 2)
            print(json.dumps(row), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
