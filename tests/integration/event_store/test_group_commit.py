"""Group commit (infrastructure/event_store/group_commit.py): saves that arrive while a
transaction commits share the next one, yet each caller gets its own ids or its own
error, and nothing of a failed group is committed. The committer's first group is held
at a gate so that the next saves are known to queue up behind it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain import commands
from infrastructure.database import write_transaction
from infrastructure.event_store.group_commit import PendingSave
from infrastructure.event_store.recorder import IdempotencyRecord, SqlEventRecorder
from infrastructure.settings import Settings
from infrastructure.wiring import open_recorder, open_tracker


class HeldCommitter:
    """Wraps the recorder's group transaction: records each group's size, holds the
    first group until released, and can make a chosen group fail inside its transaction
    after its events are inserted (its idempotency insert goes to a missing table)."""

    def __init__(self, recorder: SqlEventRecorder) -> None:
        self.recorder = recorder
        self.groups: list[int] = []
        self.gate = threading.Event()
        self.fail_group: int | None = None
        self._real: Callable[[list[PendingSave]], None] = recorder._committer._transact
        recorder._committer._transact = self._transact

    def _transact(self, saves: list[PendingSave]) -> None:
        self.groups.append(len(saves))
        if len(self.groups) == 1:
            assert self.gate.wait(20)
        if self.fail_group != len(self.groups):
            self._real(saves)
            return
        sql = self.recorder.sql
        kept = sql.insert_idempotency, sql.insert_idempotency_prefix
        sql.insert_idempotency = sql.insert_idempotency.replace("stored_events_idempotency", "missing_table")
        sql.insert_idempotency_prefix = sql.insert_idempotency_prefix.replace(
            "stored_events_idempotency", "missing_table"
        )
        try:
            self._real(saves)
        finally:
            sql.insert_idempotency, sql.insert_idempotency_prefix = kept

    def release(self, *savers: threading.Thread) -> None:
        """Let the held first group commit, then wait for every saver to finish."""
        self.gate.set()
        for thread in savers:
            thread.join(20)

    def queued(self) -> int:
        return len(self.recorder._committer._queue)


def saver(recorder: SqlEventRecorder, results: dict[str, Any]) -> Callable[..., threading.Thread]:
    def start(name: str, aggregate: uuid.UUID, versions: list[int], key: str | None = None) -> threading.Thread:
        def run() -> None:
            events = [StoredEvent(aggregate, v, "test:Event", f'{{"by":"{name}","v":{v}}}'.encode()) for v in versions]
            record = IdempotencyRecord(key, "test", "fingerprint", {"by": name}) if key else None
            try:
                results[name] = list(recorder.insert_events(events, idempotency=record))
            except Exception as error:  # the test inspects each caller's own error
                results[name] = error

        thread = threading.Thread(target=run)
        thread.start()
        return thread

    return start


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


@pytest.fixture
def recorder(database_url: str) -> SqlEventRecorder:
    return open_recorder(Settings(database_url=database_url))


def hold_first_group(recorder: SqlEventRecorder, results: dict[str, Any]) -> tuple[HeldCommitter, threading.Thread]:
    held = HeldCommitter(recorder)
    first = saver(recorder, results)("first", uuid.uuid4(), [1])
    wait_until(lambda: held.groups == [1])
    return held, first


def test_saves_queued_behind_a_commit_share_one_transaction_and_each_gets_its_own_ids(
    recorder: SqlEventRecorder,
) -> None:
    results: dict[str, Any] = {}
    held, first = hold_first_group(recorder, results)
    start = saver(recorder, results)
    aggregates = {f"s{i}": uuid.uuid4() for i in range(20)}
    threads = [start(name, aggregate, [1, 2, 3]) for name, aggregate in aggregates.items()]
    wait_until(lambda: held.queued() == 20)
    held.release(first, *threads)

    assert held.groups == [1, 20]
    assert results["first"] == [1]
    every_id = sorted(i for ids in results.values() for i in ids)
    assert every_id == list(range(1, 62))
    for name, aggregate in aggregates.items():
        ids = results[name]
        assert ids == list(range(ids[0], ids[0] + 3))
        stored = recorder.select_events(aggregate)
        assert [e.state for e in stored] == [f'{{"by":"{name}","v":{v}}}'.encode() for v in (1, 2, 3)]
        by_id = {n.id: n for n in recorder.select_notifications(ids[0], 3)}
        assert [(by_id[i].originator_id, by_id[i].originator_version) for i in ids] == [
            (aggregate, v) for v in (1, 2, 3)
        ]


def test_two_saves_of_the_same_version_in_one_group_one_wins_the_other_gets_integrity_error(
    recorder: SqlEventRecorder,
) -> None:
    results: dict[str, Any] = {}
    held, first = hold_first_group(recorder, results)
    start = saver(recorder, results)
    contested, other = uuid.uuid4(), uuid.uuid4()
    threads = [start("a", contested, [1])]
    wait_until(lambda: held.queued() == 1)
    threads += [start("b", contested, [1]), start("c", other, [1])]
    wait_until(lambda: held.queued() == 3)
    held.release(first, *threads)

    assert held.groups == [1, 2, 1]  # a and c together; b in a later transaction, alone
    assert isinstance(results["a"], list) and isinstance(results["c"], list)
    assert isinstance(results["b"], IntegrityError)
    assert [e.state for e in recorder.select_events(contested)] == [b'{"by":"a","v":1}']
    assert recorder.count_events() == 3


def test_a_group_that_clashes_with_another_writer_is_retried_save_by_save(recorder: SqlEventRecorder) -> None:
    taken = uuid.uuid4()
    with write_transaction(recorder.engine) as conn:  # another process wrote version 1 already
        recorder.insert_events_in(conn, [StoredEvent(taken, 1, "test:Event", b'{"by":"elsewhere"}')])
    results: dict[str, Any] = {}
    held, first = hold_first_group(recorder, results)
    start = saver(recorder, results)
    fresh = uuid.uuid4()
    threads = [start("fresh", fresh, [1, 2])]
    wait_until(lambda: held.queued() == 1)
    threads.append(start("late", taken, [1]))
    wait_until(lambda: held.queued() == 2)
    held.release(first, *threads)

    assert held.groups == [1, 2, 1, 1]  # the group failed as a whole, then one by one
    assert results["fresh"] == [3, 4]
    assert isinstance(results["late"], IntegrityError)
    assert [e.state for e in recorder.select_events(taken)] == [b'{"by":"elsewhere"}']
    assert [e.originator_version for e in recorder.select_events(fresh)] == [1, 2]


def test_one_idempotency_key_twice_in_a_group_records_once(recorder: SqlEventRecorder) -> None:
    results: dict[str, Any] = {}
    held, first = hold_first_group(recorder, results)
    start = saver(recorder, results)
    threads = [start("one", uuid.uuid4(), [1], key="k-1")]
    wait_until(lambda: held.queued() == 1)
    threads.append(start("two", uuid.uuid4(), [1], key="k-1"))
    wait_until(lambda: held.queued() == 2)
    held.release(first, *threads)

    assert held.groups == [1, 1, 1]
    assert results["one"] == [2]
    assert isinstance(results["two"], IntegrityError)
    record = recorder.idempotency_record("k-1")
    assert record is not None and record.result == {"by": "one"} and record.position == 2
    assert recorder.count_events() == 2


def test_a_retried_key_is_refused_alone_and_the_rest_of_its_group_commits_in_one_transaction(
    recorder: SqlEventRecorder,
) -> None:
    results: dict[str, Any] = {}
    saver(recorder, results)("original", uuid.uuid4(), [1], key="k-retried").join(20)
    held, first = hold_first_group(recorder, results)
    start = saver(recorder, results)
    others = {f"s{i}": uuid.uuid4() for i in range(3)}
    threads = [start("retry", uuid.uuid4(), [1], key="k-retried")]
    threads += [start(name, aggregate, [1], key=f"k-{name}") for name, aggregate in others.items()]
    wait_until(lambda: held.queued() == 4)
    held.release(first, *threads)

    assert held.groups == [1, 4]  # one transaction: the refusal did not split the group
    assert isinstance(results["retry"], IntegrityError)
    assert sorted(i for name in others for i in results[name]) == [3, 4, 5]
    record = recorder.idempotency_record("k-retried")
    assert record is not None and record.result == {"by": "original"} and record.position == 1
    assert all(recorder.idempotency_record(f"k-{name}") is not None for name in others)
    assert recorder.count_events() == 5


def test_a_key_recorded_after_the_lookup_fails_only_its_own_save(recorder: SqlEventRecorder) -> None:
    """The keys are looked up before the writer lock is taken: a key that another writer
    records in between is caught by the unique index, and only its save fails."""
    results: dict[str, Any] = {}
    saver(recorder, results)("elsewhere", uuid.uuid4(), [1], key="k-late").join(20)
    lookup = recorder.sql.recorded_keys
    recorder.sql.recorded_keys = lambda count: f"{lookup(count)} AND 1 = 0"  # type: ignore[method-assign]
    held, first = hold_first_group(recorder, results)
    start = saver(recorder, results)
    threads = [start("late", uuid.uuid4(), [1], key="k-late"), start("other", uuid.uuid4(), [1, 2], key="k-other")]
    wait_until(lambda: held.queued() == 2)
    held.release(first, *threads)

    assert held.groups == [1, 2, 1, 1]  # the group failed on the unique key, then one by one
    assert isinstance(results["late"], IntegrityError)
    assert results["other"] == [3, 4]
    record = recorder.idempotency_record("k-other")
    assert record is not None and record.position == 4
    assert recorder.count_events() == 4


def test_a_group_of_over_half_a_megabyte_commits_with_its_own_ids(recorder: SqlEventRecorder) -> None:
    big = b'{"note":"' + "é\t'\"x".encode() * 150_000 + b'"}'
    aggregate = uuid.uuid4()
    ids = recorder.insert_events(
        [StoredEvent(aggregate, 1, "test:Event", big), StoredEvent(aggregate, 2, "test:Event", b"{}")],
        idempotency=IdempotencyRecord("k-big", "test", "fingerprint", {"by": "big"}),
    )
    assert list(ids) == [1, 2]
    assert [e.state for e in recorder.select_events(aggregate)] == [big, b"{}"]
    record = recorder.idempotency_record("k-big")
    assert record is not None and record.position == 2


def test_any_other_error_fails_every_save_of_the_group_and_commits_none_of_it(recorder: SqlEventRecorder) -> None:
    results: dict[str, Any] = {}
    held, first = hold_first_group(recorder, results)
    held.fail_group = 2
    start = saver(recorder, results)
    threads = [start("x", uuid.uuid4(), [1, 2], key="k-x"), start("y", uuid.uuid4(), [1])]
    wait_until(lambda: held.queued() == 2)
    held.release(first, *threads)

    assert held.groups == [1, 2]
    errors = [results[name] for name in ("x", "y")]
    assert all("missing_table" in str(e) and not isinstance(e, IntegrityError) for e in errors), errors
    assert recorder.count_events() == 1 and recorder.max_notification_id() == 1
    assert recorder.idempotency_record("k-x") is None
    assert list(recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "test:Event", b"{}")])) == [2]


def test_an_in_memory_sqlite_tracker_commits_in_the_callers_thread() -> None:
    """An in-memory SQLite database exists once per thread: a committer thread would write
    to another, empty database ("no such table")."""
    tracker = open_tracker(Settings(database_url="sqlite://"))
    first = tracker.execute(commands.RecordCallAttempt(user_id=1, agent_id=1, outcome="answered"), idempotency_key="k")
    again = tracker.execute(commands.RecordCallAttempt(user_id=1, agent_id=1, outcome="answered"), idempotency_key="k")
    assert (first.position, first.replayed) == (2, False)
    assert (again.position, again.replayed) == (2, True)
    assert tracker.get_score(1).version == 2
