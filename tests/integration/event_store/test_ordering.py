"""Concurrent writers in separate processes and threads; a follower reading in
notification order sees every event exactly once (MariaDB: ids commit in id order)."""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
import uuid

from eventsourcing.persistence import StoredEvent

from domain import commands
from infrastructure.database import make_engine
from infrastructure.event_store.recorder import SqlEventRecorder
from infrastructure.settings import Settings
from infrastructure.wiring import open_recorder, open_tracker

WRITERS, EVENTS_PER_WRITER = 4, 1300


def write_events(url: str, seed: int, count: int) -> None:
    recorder = SqlEventRecorder(make_engine(url))
    rng = random.Random(seed)
    written = 0
    while written < count:
        size = min(rng.choice([1, 1, 2, 3, 5]), count - written)
        aggregate = uuid.uuid4()
        recorder.insert_events([StoredEvent(aggregate, v, "test:Event", b"{}") for v in range(1, size + 1)])
        written += size


def follow_until(recorder: SqlEventRecorder, total: int, timeout: float) -> list[int]:
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    with recorder.subscribe(gt=0, interval=0.01) as subscription:
        for notification in subscription:
            seen.append(notification.id)
            if len(seen) >= total or time.monotonic() > deadline:
                break
    return seen


def test_four_writer_processes_and_a_concurrent_follower_agree_on_every_event(mariadb_url: str) -> None:
    recorder = open_recorder(Settings(database_url=mariadb_url))
    total = WRITERS * EVENTS_PER_WRITER
    seen: list[int] = []
    follower = threading.Thread(target=lambda: seen.extend(follow_until(recorder, total, 120)))
    follower.start()
    context = multiprocessing.get_context("spawn")
    writers = [
        context.Process(target=write_events, args=(mariadb_url, seed, EVENTS_PER_WRITER)) for seed in range(WRITERS)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
        assert process.exitcode == 0
    follower.join(timeout=130)
    assert recorder.count_events() == total
    assert len(seen) == total, f"the follower saw {len(seen)} of {total}"
    assert seen == sorted(set(seen)), "every event once, in increasing order"
    assert seen == list(range(1, total + 1)), "ids are gapless, so nothing can be skipped"


def test_writer_threads_and_a_follower_agree_on_every_event(database_url: str) -> None:
    recorder = open_recorder(Settings(database_url=database_url))
    total = 4 * 300
    seen: list[int] = []
    follower = threading.Thread(target=lambda: seen.extend(follow_until(recorder, total, 60)))
    follower.start()
    threads = [threading.Thread(target=write_events, args=(database_url, seed, 300)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    follower.join(timeout=70)
    assert seen == list(range(1, total + 1))


def test_racing_commands_on_one_user_lose_nothing(database_url: str) -> None:
    trackers = [open_tracker(Settings(database_url=database_url)) for _ in range(4)]
    trackers[0].execute(commands.RecordCallAttempt(user_id=1, agent_id=1, outcome="answered"))
    done: list[int] = []

    def attempts(index: int) -> None:
        for _ in range(15):
            trackers[index].execute(commands.RecordCallAttempt(user_id=1, agent_id=index + 1, outcome="busy"))
            done.append(1)

    threads = [threading.Thread(target=attempts, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    score = trackers[0].get_score(1)
    assert score.total_attempts == 1 + len(done) == 61
    assert score.current_score == 5 - 60
    assert sorted(score.contributing_agents) == [1, 2, 3, 4]
