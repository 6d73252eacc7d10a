"""Load on the HTTP API: MariaDB, `convtrack serve` with 2 workers, 32 concurrent clients
on loopback recording call attempts and conversions for random users (some requests are
retried with the same Idempotency-Key, and users race). Afterwards the event count, the
projected tables and a replay from scratch must agree exactly.

    .venv/bin/python -m tests.benchmarks.bench_api_load --seconds 60 --clients 32 --workers 2
    .venv/bin/python -m tests.benchmarks.bench_api_load --seconds 60 --clients 32 --workers 2 --rate 500

Without ``--rate`` the clients send back to back (closed loop): the throughput ceiling,
with latency = clients / throughput by Little's law (32 clients at 500/s must wait 64 ms
on average). With ``--rate`` the clients are paced to offer that many commands per second
in all, and latency counts from each command's due time.
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import random
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter

import httpx
from sqlalchemy import text

from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.projections.rebuild import open_live_tables, rebuild
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.projections.tables import TableNames, create_projection_tables
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import bring_to
from tests.support.mariadb_server import MariaDBServer, free_port
from tests.support.processes import CONVTRACK, convtrack_env
from tests.support.sockets import LISTENING, socket_inodes
from tests.support.table_rows import rows_of


def client_loop(
    base: str, key: str, users: int, until: float, seed: int, stats: dict[str, object], interval: float = 0.0
) -> None:
    """One client: a keep-alive connection (http.client, light on CPU, since the clients
    share the machine with the server), sending commands until ``until``.

    With ``interval`` > 0 the client is paced (open loop): its k-th command is due at
    start + k * interval, and its latency counts from that due time, so a server that
    falls behind shows it in the percentiles (no coordinated omission). With 0 it sends
    the next command as soon as the previous one is answered (closed loop, saturation)."""
    rng = random.Random(seed)
    due = time.perf_counter() + rng.uniform(0, interval)
    latencies: list[float] = stats["latencies"]  # type: ignore[assignment]
    outcomes: Counter[str] = stats["outcomes"]  # type: ignore[assignment]
    timeline: list[tuple[float, float]] = stats["timeline"]  # type: ignore[assignment]
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    while time.monotonic() < until:
        user = rng.randint(1, users)
        if rng.random() < 0.75:
            path, kind = "/api/call-attempts", "attempt"
            body = {"user_id": user, "agent_id": rng.randint(1, 20), "outcome": rng.choice(["answered", "busy"])}
        else:
            path, kind = "/api/conversions", "conversion"
            body = {"user_id": user, "conversion_type": "signed", "claim_value": "100.00"}
        payload = json.dumps(body).encode()
        headers = {"X-API-Key": key, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        sends = 2 if rng.random() < 0.05 else 1  # a client retrying after a lost response
        for _ in range(sends):
            if interval:
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
                started = due
                due += interval
            else:
                started = time.perf_counter()
            try:
                connection.request("POST", path, body=payload, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                status = 0
                stats.setdefault("first_error", repr(error))
                connection.close()
                connection = http.client.HTTPConnection(host, int(port), timeout=10)
            latencies.append(time.perf_counter() - started)
            timeline.append((started, latencies[-1]))
            outcomes[f"{kind}:{'replayed' if status == 200 else status}"] += 1
    connection.close()


def _descendants(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == pid:
                found += [int(entry), *_descendants(int(entry))]
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (Linux /proc), in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=0, help="offered commands/s in all (paced); 0: closed loop")
    parser.add_argument(
        "--mariadb-option", action="append", default=[], help="an extra mariadbd option (experiments only)"
    )
    args = parser.parse_args()
    server = MariaDBServer(buffer_pool="1G", options=tuple(args.mariadb_option)).start()
    serve = None
    try:
        url = server.url(server.create_database())
        bring_to(url, Phase.CUT_OVER, users=0)  # the API takes commands only while cut over
        tracker = open_tracker(Settings(database_url=url))
        with tracker.sql_recorder.engine.begin() as conn:  # the clients name agents 1-20; bring_to made 1-12
            conn.execute(
                text("INSERT INTO agents (id, name, email, is_active, created_at) VALUES (:id, :n, :e, 1, NOW(3))"),
                [{"id": i, "n": f"Agent {i}", "e": f"agent{i}@example.com"} for i in range(13, 21)],
            )
        key = ApiKeys(tracker.sql_recorder.engine).create("load")
        port = free_port()
        # its log (an access line per request) goes to a file: a pipe nobody reads fills in
        # a fraction of a second and stops the workers
        with open(os.path.join(tempfile.gettempdir(), f"bench-api-serve-{port}.log"), "wb") as serve_log:
            serve = subprocess.Popen(
                [CONVTRACK, "serve", "--port", str(port), "--workers", str(args.workers)],
                env=convtrack_env(url),
                stdout=subprocess.DEVNULL,
                stderr=serve_log,
            )
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):  # every worker serving (a worker listens once its app has started)
            try:
                ready = httpx.get(f"{base}/ready", timeout=1).status_code == 200
            except httpx.HTTPError:
                ready = False
            if ready and len(socket_inodes(port, LISTENING)) >= args.workers:
                break
            time.sleep(0.1)
        stats: dict[str, object] = {"latencies": [], "outcomes": Counter(), "timeline": []}
        until = time.monotonic() + args.seconds
        threads = [
            threading.Thread(
                target=client_loop,
                args=(base, key, args.users, until, i, stats, args.clients / args.rate if args.rate else 0.0),
            )
            for i in range(args.clients)
        ]
        # the client process holds the whole tracker's objects: keep them out of its garbage
        # collections, whose pauses (about 50 ms) would count as server latency
        gc.collect()
        gc.freeze()
        watched = {"server workers": _descendants(serve.pid), "mariadb": [server.process.pid], "clients": [os.getpid()]}
        cpu_before = {name: _cpu_seconds(pids) for name, pids in watched.items()}
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu_ms_per_request = {
            name: round((_cpu_seconds(pids) - cpu_before[name]) * 1000 / max(1, len(stats["latencies"])), 2)  # type: ignore[arg-type]
            for name, pids in watched.items()
        }
        elapsed = time.monotonic() - started
        timeline: list[tuple[float, float]] = sorted(stats["timeline"])  # type: ignore[arg-type]
        per_second: dict[int, list[float]] = {}
        for due, latency in timeline:
            per_second.setdefault(int(due - timeline[0][0]), []).append(latency)
        slow_seconds = {
            second: f"{sum(x > 0.05 for x in values)}/{len(values)} over 50 ms, max {max(values) * 1000:.0f} ms"
            for second, values in sorted(per_second.items())
            if sum(x > 0.05 for x in values) > len(values) / 100
        }
        latencies = sorted(stats["latencies"])  # type: ignore[arg-type]
        outcomes: Counter[str] = stats["outcomes"]  # type: ignore[assignment]
        errors = sum(n for k, n in outcomes.items() if k.split(":")[1] in {"0"} or k.split(":")[1].startswith("5"))
        runner = ProjectionRunner(tracker, open_live_tables(tracker))
        caught_up = runner.wait_for(tracker.sql_recorder.max_notification_id() or 0, timeout=120)
        engine = tracker.sql_recorder.engine
        with engine.connect() as conn:
            attempts = int(conn.execute(text("SELECT COALESCE(SUM(total_attempts), 0) FROM user_call_scores")).scalar())
            conversions = int(conn.execute(text("SELECT COUNT(*) FROM conversions")).scalar())
        live = rows_of(engine, runner.tables)
        rebuild(tracker, swap=False)
        # the replay's tables as rebuild made them: with the legacy schema the bootstrap captured
        rebuilt = create_projection_tables(engine, TableNames.sibling(engine, "ct_rebuild"), tracker.legacy_schema())
        replayed = rows_of(engine, rebuilt)
        print(
            json.dumps(
                {
                    "clients": args.clients,
                    "offered_rate": args.rate or "closed loop",
                    "workers": args.workers,
                    "seconds": round(elapsed, 1),
                    "requests": len(latencies),
                    "requests_per_s": round(len(latencies) / elapsed),
                    "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
                    "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 1),
                    "errors": errors,
                    "outcomes": dict(outcomes),
                    "projection_caught_up": caught_up,
                    "attempts_201": outcomes["attempt:201"],
                    "attempts_in_table": attempts,
                    "conversions_201": outcomes["conversion:201"],
                    "conversions_in_table": conversions,
                    "replay_equals_live": replayed == live,
                    "first_error": stats.get("first_error"),
                    "cpu_ms_per_request": cpu_ms_per_request,
                    "seconds_with_over_1pct_slow": slow_seconds,
                    "events": tracker.sql_recorder.count_events(),
                },
                indent=1,
            )
        )
    finally:
        if serve is not None:
            serve.terminate()
            serve.wait(timeout=30)
        server.stop()


if __name__ == "__main__":
    main()
