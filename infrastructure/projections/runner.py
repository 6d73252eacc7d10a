"""The projection runner: reads notifications in order, applies their row changes to
the three tables and advances its tracking position in the same transaction.

``run_once`` catches up and returns; ``follow`` keeps going, polling, and applies only
while it holds the lease. An event that cannot be applied stops the runner with
:class:`ProjectionFailed`, naming the event's position; nothing after it is applied
(``following.keep_following`` retries it with a backoff until the cause is fixed).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from eventsourcing.utils import get_topic
from sqlalchemy import Connection, Table
from sqlalchemy import exc as sa_exc

from domain.call_queue_entry import CallQueueEntry
from domain.conversion import Conversion
from domain.errors import ConvTrackError
from domain.user_call_score import UserCallScore
from infrastructure.database import write_transaction
from infrastructure.projections import tracking
from infrastructure.projections.event_source import EventSource, sql_recorder_of
from infrastructure.projections.mysql_bulk import MySQLBulkWriter
from infrastructure.projections.names import CALL_QUEUE, CONVERSIONS, LIVE, USER_CALL_SCORES
from infrastructure.projections.store_reader import StoredRow, StoreReader
from infrastructure.projections.tables import ProjectionTables
from infrastructure.projections.writer import BatchFold, ForeignRows, write_fold

TABLE_OF_MODULE = {
    UserCallScore.__module__: USER_CALL_SCORES,
    CallQueueEntry.__module__: CALL_QUEUE,
    Conversion.__module__: CONVERSIONS,
}
SKIPPED_TOPICS = (get_topic(UserCallScore.Registered),)
RETRIED_ERRORS = {1205, 1213}  # lock wait timeout, deadlock (MariaDB/MySQL)
DEADLOCK_RETRIES = 5

Progress = Callable[[int, int], None]  # (position, head)


class ProjectionFailed(ConvTrackError):
    exit_code = 7
    http_status = 500

    def __init__(self, name: str, position: int, topic: str, cause: BaseException) -> None:
        super().__init__(
            f"projection {name!r} cannot apply event at position {position} ({topic}): "
            f"{type(cause).__name__}: {getattr(cause, 'orig', cause)}"
        )
        self.position = position
        self.topic = topic


log = logging.getLogger(__name__)
LOGGED_IDS = 10


@dataclass
class RunnerStats:
    applied: int = 0
    foreign_rows: int = 0  # live rows met that the events never made (see ``_foreign``)


class ProjectionRunner:
    """``events``: the store to read (the service application is one, or a ``StoreEvents``)."""

    def __init__(
        self,
        events: EventSource,
        tables: ProjectionTables,
        name: str = LIVE,
        *,
        batch_size: int = 5000,
        partition: tuple[int, int] | None = None,
    ) -> None:
        self.recorder = sql_recorder_of(events)
        self.engine = self.recorder.engine
        self.tables = tables
        self.name = name
        self.batch_size = batch_size
        self.reader = StoreReader(self.recorder, events.mapper, partition)
        self.holder = f"{uuid.uuid4().hex[:12]}"
        self.stats = RunnerStats()
        self.writers = self._table_writers()
        tracking.create_tracking_tables(self.engine)
        tracking.ensure_tracking_row(self.engine, name)

    # ----------------------------------------------------------------- reading

    def position(self) -> int:
        with self.engine.connect() as conn:
            return tracking.read_position(conn, self.name)

    def head(self) -> int:
        return self.recorder.max_notification_id() or 0

    def lag(self) -> int:
        return max(0, self.head() - self.position())

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Read-your-writes: block until this projection has applied ``position``."""
        deadline = time.monotonic() + timeout
        delay = 0.01
        while self.position() < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
        return True

    # ----------------------------------------------------------------- applying

    def run_once(self, progress: Progress | None = None, until: int | None = None) -> int:
        """Apply everything up to the head (or ``until``); return how many events.

        Three stages overlap: a reader thread fetches the next batch, this thread decodes
        and folds, a writer thread writes the previous batch with its tracking row. Writes
        stay in order, one transaction per batch. If a write fails, the runner falls back
        to applying batch by batch (and event by event) to name the event that fails."""
        applied = 0
        head = until if until is not None else self.head()
        position = self.position()
        if 0 < head - position <= self.batch_size:  # a follower's usual step: no threads for one batch
            try:
                applied = self._run_sequentially(position, head)
            except tracking.StalePosition:
                applied = 0  # another follower applied it
            self.stats.applied += applied
            if progress is not None:
                progress(self.position(), head)
            return applied
        while position < head:
            writer = _Writer(self)
            try:
                with _Prefetch(self, position, head) as batches, writer:
                    for rows in batches:
                        writer.submit(position, rows, self._fold(rows))
                        position = rows[-1][0]
                        if progress is not None:
                            progress(position, head)
            except tracking.StalePosition:
                applied += writer.applied
                position = self.position()  # another follower applied it; carry on from there
                continue
            except _WriteFailed:
                applied += writer.applied + self._run_sequentially(self.position(), head)
                break
            applied += writer.applied
            break
        self.stats.applied += applied
        return applied

    def _run_sequentially(self, position: int, head: int) -> int:
        applied = 0
        while position < head:
            rows = self.reader.rows(position, head, self.batch_size)
            if not rows:
                break
            self._apply(position, rows)
            applied += len(rows)
            position = rows[-1][0]
        return applied

    def follow(
        self,
        stop: threading.Event,
        *,
        interval: float = 0.2,
        lease_ttl: float = 5.0,
        progress: Progress | None = None,
    ) -> None:
        """Follow the store until ``stop`` is set, applying only while holding the lease.

        The lease is renewed every third of its time to live, not at every poll, and an
        idle poll costs one query for the head. Exactly-once never rests on the lease:
        each batch's tracking update checks the position it started from."""
        renew_after = lease_ttl / 3
        renewed_at: float | None = None
        position = 0
        try:
            while not stop.is_set():
                now = time.monotonic()
                if renewed_at is None or now - renewed_at >= renew_after:
                    if tracking.try_lease(self.engine, self.name, self.holder, lease_ttl):
                        if renewed_at is None:
                            position = self.position()  # just took over: start from the table's position
                        renewed_at = now
                    else:
                        renewed_at = None
                        stop.wait(interval)
                        continue
                head = self.head()
                if head > position:
                    self.run_once(progress=progress, until=min(head, position + self.batch_size * 4))
                    position = self.position()
                    if position < head:
                        continue
                stop.wait(interval)
        finally:
            tracking.release_lease(self.engine, self.name, self.holder)

    def _write(self, position: int, rows: list[StoredRow], folds: dict[str, BatchFold]) -> None:
        for attempt in range(DEADLOCK_RETRIES + 1):
            try:
                with write_transaction(self.engine) as conn:
                    tracking.advance(conn, self.name, position, rows[-1][0])
                    for logical, fold in folds.items():
                        self.writers[logical](conn, fold)
                return
            except sa_exc.OperationalError as error:
                # InnoDB chose this transaction as a deadlock victim (or timed out on a lock):
                # it was rolled back whole, so running it again is safe
                if _error_code(error) not in RETRIED_ERRORS or attempt == DEADLOCK_RETRIES:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))

    def _table_writers(self) -> dict[str, Callable[[Connection, BatchFold], None]]:
        """MariaDB/MySQL get the bulk statement writer; SQLite the generic one."""
        tables = self.tables.by_logical_name()
        on_foreign = self._foreign if self.name == LIVE else None  # only the live tables are written from outside
        # a user the events know without a score row gets updates that find none, by design
        checked = {logical: logical != USER_CALL_SCORES for logical in tables}
        if self.engine.dialect.name in {"mysql", "mariadb"}:
            dialect = self.engine.dialect
            return {
                logical: MySQLBulkWriter(table, dialect, on_foreign, check_updates=checked[logical]).write
                for logical, table in tables.items()
            }
        return {
            logical: functools.partial(_generic_write, table, on_foreign, checked[logical])
            for logical, table in tables.items()
        }

    def _foreign(self, table: str, what: str, ids: list[str], count: int) -> None:
        """A write met rows the events never made (an insert over a row written from outside,
        an update of a row deleted outside): said, counted, never silent (decision 8)."""
        self.stats.foreign_rows += count
        shown = ", ".join(ids[:LOGGED_IDS]) + (", ..." if len(ids) > LOGGED_IDS else "")
        among = "ids" if len(ids) == count else "among ids"
        log.warning(
            "projection %r, table %s: %s: %d row(s) the events never made (%s %s); see `convtrack verify --live`",
            self.name,
            table,
            what,
            count,
            among,
            shown,
        )

    def _apply(self, position: int, rows: list[StoredRow]) -> None:
        try:
            self._write(position, rows, self._fold(rows))
        except (sa_exc.IntegrityError, sa_exc.DataError, sa_exc.OperationalError) as error:
            if len(rows) == 1:
                raise ProjectionFailed(self.name, rows[0][0], rows[0][3], error) from error
            self._apply_one_by_one(position, rows)

    def _apply_one_by_one(self, position: int, rows: list[StoredRow]) -> None:
        """Find the event that fails, applying every one before it."""
        for row in rows:
            self._apply(position, [row])
            position = row[0]

    def _fold(self, rows: list[StoredRow]) -> dict[str, BatchFold]:
        folds: dict[str, BatchFold] = {}
        event_of = self.reader.event
        for row in rows:
            topic = row[3]
            logical = TABLE_OF_MODULE.get(topic.partition(":")[0])
            if logical is None or topic in SKIPPED_TOPICS:
                continue
            try:
                change = event_of(row).row_change()
            except Exception as error:  # an undecodable event must not be skipped silently
                raise ProjectionFailed(self.name, row[0], topic, error) from error
            if change.kind == "none":
                continue
            fold = folds.get(logical)
            if fold is None:
                fold = folds[logical] = BatchFold()
            fold.add(change)
        return folds


def _error_code(error: sa_exc.DBAPIError) -> int | None:
    args = getattr(error.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def _generic_write(
    table: Table, on_foreign: ForeignRows | None, check_updates: bool, conn: Connection, fold: BatchFold
) -> None:
    write_fold(conn, table, fold, on_foreign, check_updates=check_updates)


class _Prefetch:
    """Reads batches of notifications ahead of the consumer, in a thread."""

    def __init__(self, runner: ProjectionRunner, start: int, stop: int, depth: int = 2) -> None:
        self.runner = runner
        self.start = start
        self.stop = stop
        self.batches: queue.Queue[list[StoredRow] | BaseException | None] = queue.Queue(maxsize=depth)
        self.cancelled = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)

    def __enter__(self) -> Iterator[list[StoredRow]]:
        self.thread.start()
        return self._iterate()

    def __exit__(self, *_: object) -> None:
        self.cancelled.set()
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self.batches.get(timeout=0.05)
        self.thread.join()

    def _iterate(self) -> Iterator[list[StoredRow]]:
        while True:
            item = self.batches.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def _read(self) -> None:
        position = self.start
        try:
            while position < self.stop and not self.cancelled.is_set():
                batch = self.runner.reader.rows(position, self.stop, self.runner.batch_size)
                if not batch:
                    break
                self._put(batch)
                position = batch[-1][0]
        except BaseException as error:  # handed to the consumer, which raises it
            self._put(error)
            return
        self._put(None)

    def _put(self, item: list[StoredRow] | BaseException | None) -> None:
        while not self.cancelled.is_set():
            try:
                self.batches.put(item, timeout=0.05)
                return
            except queue.Full:
                continue


class _WriteFailed(Exception):
    """A batch could not be written; the caller retries sequentially to find the event."""


WRITE_ERRORS = (sa_exc.IntegrityError, sa_exc.DataError, sa_exc.OperationalError)


class _Writer:
    """Writes folded batches in order, in a thread, one transaction per batch."""

    def __init__(self, runner: ProjectionRunner, depth: int = 1) -> None:
        self.runner = runner
        self.items: queue.Queue[tuple[int, list[StoredRow], dict[str, BatchFold]] | None] = queue.Queue(depth)
        self.error: BaseException | None = None
        self.applied = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _Writer:
        self.thread.start()
        return self

    def submit(self, position: int, rows: list[StoredRow], folds: dict[str, BatchFold]) -> None:
        self._raise()
        self.items.put((position, rows, folds))

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.items.put(None)
        self.thread.join()
        if exc_type is None:
            self._raise()

    def _raise(self) -> None:
        if isinstance(self.error, tracking.StalePosition):
            raise self.error
        if isinstance(self.error, WRITE_ERRORS):
            raise _WriteFailed from self.error
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        while (item := self.items.get()) is not None:
            if self.error is not None:
                continue  # drain: nothing after a failed batch is written
            position, rows, folds = item
            try:
                self.runner._write(position, rows, folds)
                self.applied += len(rows)
            except BaseException as error:  # handed to the submitting thread
                self.error = error
