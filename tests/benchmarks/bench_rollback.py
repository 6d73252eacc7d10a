"""Rollback speed on MariaDB: N users, M commands recorded since cutover, then rollback
(the write-back of those commands into the kept legacy tables and the rename back).

    .venv/bin/python -m tests.benchmarks.bench_rollback --users 1000000 --commands 50000

Goal: at 1M users after 50,000 commands, rollback in at most 10 s. Generates the legacy
data, bootstraps and cuts over (untimed), records the commands through the service layer
(a realistic mix: call attempts, score resets, enqueues, assignments, callbacks scheduled
and cleared, completions, cancellations, conversions and reversals; untimed), then times
``rollback`` and prints one JSON line: its seconds, the events and rows written back.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bootstrap.bootstrapper import Bootstrapper
from bootstrap.cutover import cutover, rollback
from bootstrap.legacy_source import LegacySource
from bootstrap.sample_data import generate
from domain import commands
from domain.errors import ConvTrackError
from infrastructure.application import ConversionTracker
from infrastructure.database import make_engine
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.mariadb_server import MariaDBServer

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def open_entries(url: str) -> tuple[list[int], list[str]]:
    engine = make_engine(url)
    with engine.connect() as conn:
        users = [int(u) for u in conn.execute(text("SELECT user_id FROM user_call_scores")).scalars()]
        entries = [
            str(e)
            for e in conn.execute(text("SELECT id FROM call_queue WHERE status IN ('pending', 'assigned')")).scalars()
        ]
    engine.dispose()
    return users, entries


def next_command(i: int, rng: random.Random, users: list[int], entries: list[str], callbacks: list[str]) -> Any:
    """The i-th command of the mix (entries and callbacks are the open ones, kept up to date)."""
    kind = i % 10
    if kind == 4 and entries:
        return commands.Assign(entry_id=rng.choice(entries), agent_id=rng.randint(1, 12))
    if kind == 5 and entries:
        callbacks.append(entries[rng.randrange(len(entries))])
        return commands.ScheduleCallback(entry_id=callbacks[-1], scheduled_for=WHEN + timedelta(minutes=i))
    if kind == 6 and callbacks:
        return commands.ClearCallback(entry_id=callbacks.pop(), reason="reached")
    if kind == 7 and entries:
        entry = entries.pop(rng.randrange(len(entries)))
        if entry in callbacks:
            callbacks.remove(entry)
        return (commands.Complete if i % 20 < 10 else commands.Cancel)(entry_id=entry, reason="bench")
    if kind == 8:
        entries.append(f"bench-{i}")
        return commands.Enqueue(user_id=rng.choice(users), queue_type="unsigned_users", entry_id=entries[-1])
    if kind == 9 and i % 50 == 9:
        return commands.ResetScore(user_id=rng.choice(users), reason="bench")
    user = rng.choice(users) if i % 100 else 2_000_000_000 + i  # now and then a user the legacy tables lack
    return commands.RecordCallAttempt(
        user_id=user, agent_id=rng.randint(1, 12), outcome=rng.choice(["answered", "busy"])
    )


def record_commands(tracker: ConversionTracker, url: str, count: int, seed: int = 1) -> int:
    rng = random.Random(seed)
    users, entries = open_entries(url)
    callbacks: list[str] = []
    refused = 0
    for i in range(count):
        try:
            if i % 500 == 499:
                done = tracker.execute(commands.RecordConversion(user_id=rng.choice(users), conversion_type="signed"))
                if i % 1000 == 999:
                    tracker.execute(commands.ReverseConversion(conversion_id=done.ids["conversion_id"], reason="bench"))
                continue
            tracker.execute(next_command(i, rng, users, entries, callbacks))
        except ConvTrackError:
            refused += 1  # e.g. a second conversion for the same user: the domain refuses it
    return refused


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--commands", type=int, default=50_000)
    args = parser.parse_args()
    server = MariaDBServer(buffer_pool="2G").start()
    try:
        url = server.url(server.create_database())
        started = time.perf_counter()
        counts = generate(make_engine(url), users=args.users, chunk=20_000)
        tracker = open_tracker(Settings(database_url=url))
        source = LegacySource(url)
        Bootstrapper(tracker, source, batch_size=2000).run()
        cutover(tracker, source)
        print(f"legacy {counts}, bootstrapped and cut over in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        refused = record_commands(tracker, url, args.commands)
        print(f"{args.commands:,} commands ({refused} refused) in {time.perf_counter() - started:.0f} s", flush=True)
        started = time.perf_counter()
        result = rollback(tracker, url)
        seconds = time.perf_counter() - started
        row = {"users": args.users, "commands": args.commands, "rollback_s": round(seconds, 2)}
        row |= {"rows_written_back": result.written, "untouched_rows_equal": result.legacy_checksums_equal}
        print(json.dumps(row), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
