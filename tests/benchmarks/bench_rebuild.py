"""Rebuild speed on MariaDB against the floor: the library's plain read path.

    .venv/bin/python -m tests.benchmarks.bench_rebuild --events 2000000 --small 500000

For each size: fill a fresh store, then in separate processes (so peak memory is per
phase), alternately and ``--repeat`` times each, keeping each side's fastest run (the
machine is shared and noisy) (a) the floor: eventsourcing-sqlalchemy's SQLAlchemyApplicationRecorder
.select_notifications + mapper.to_domain_event over every event, writing nothing;
(b) our rebuild into fresh tables (no swap; by default 2 replay processes from 100,000
events on, see ``parallel_replay``; ``--workers 1`` for one process). Prints events/s, the
ratio, peak RSS (of the rebuild's own process and of its largest replay process).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.benchmarks.store_builder import fill_store
from tests.support.mariadb_server import MariaDBServer


def floor(url: str) -> dict[str, float]:
    from eventsourcing.application import Application
    from eventsourcing.persistence import JSONTranscoder, Mapper
    from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
    from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder

    from infrastructure.event_store.transcodings import register_extra_transcodings

    # The library's plain mapper: its own JSONTranscoder with the same transcodings as ours.
    transcoder = JSONTranscoder()
    Application.register_transcodings(None, transcoder)  # type: ignore[arg-type]
    register_extra_transcodings(transcoder)
    mapper = Mapper(transcoder=transcoder)
    recorder = SQLAlchemyApplicationRecorder(SQLAlchemyDatastore(url=url), events_table_name="stored_events")
    started = time.perf_counter()
    count, position = 0, 0
    while True:
        batch = recorder.select_notifications(start=position, limit=5000, inclusive_of_start=False)
        if not batch:
            break
        for notification in batch:
            mapper.to_domain_event(notification)
        count += len(batch)
        position = batch[-1].id
    return {"events": count, "seconds": time.perf_counter() - started}


def ours(url: str, workers: int | None = None) -> dict[str, float]:
    from infrastructure.projections.rebuild import rebuild

    tracker = open_tracker(Settings(database_url=url))
    started = time.perf_counter()
    result = rebuild(tracker, swap=False, batch_size=5000, workers=workers)
    return {"events": result.events, "seconds": time.perf_counter() - started}


def phase(name: str, url: str, workers: int | None) -> dict[str, float]:
    extra = ["--workers", str(workers)] if workers else []
    out = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench_rebuild", "--phase", name, "--url", url, *extra],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--small", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each phase; the fastest counts")
    parser.add_argument("--phase", choices=["floor", "ours"])
    parser.add_argument("--workers", type=int, help="replay processes (default: the rebuild's own choice)")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.phase:
        result = floor(args.url) if args.phase == "floor" else ours(args.url, args.workers)
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the replay processes, if any
        result["peak_rss_mb"] = own / 1024
        result["peak_child_rss_mb"] = children / 1024
        print(json.dumps(result))
        return
    server = MariaDBServer(buffer_pool="2G").start()
    try:
        for size in (args.small, args.events):
            url = server.url(server.create_database())
            started = time.perf_counter()
            written = fill_store(open_tracker(Settings(database_url=url)), size)
            print(f"filled {written:,} events in {time.perf_counter() - started:.0f} s", flush=True)
            floors, ours_runs = [], []
            for _ in range(args.repeat):  # alternate, keep each side's fastest run
                floors.append(phase("floor", url, None))
                ours_runs.append(phase("ours", url, args.workers))
            base = min(floors, key=lambda r: r["seconds"])
            mine = min(ours_runs, key=lambda r: r["seconds"])
            print(
                json.dumps(
                    {
                        "events": written,
                        "floor_events_per_s": round(base["events"] / base["seconds"]),
                        "rebuild_events_per_s": round(mine["events"] / mine["seconds"]),
                        "rebuild_over_floor": round(mine["seconds"] / base["seconds"], 2),
                        "floor_peak_rss_mb": round(base["peak_rss_mb"]),
                        "rebuild_peak_rss_mb": round(mine["peak_rss_mb"]),
                        "rebuild_peak_rss_per_replay_process_mb": round(mine["peak_child_rss_mb"]),
                        "all_runs_s": {
                            "floor": [round(r["seconds"], 1) for r in floors],
                            "rebuild": [round(r["seconds"], 1) for r in ours_runs],
                        },
                    }
                ),
                flush=True,
            )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
