"""An eventsourcing ``ApplicationRecorder`` on SQLAlchemy Core, for SQLite and MariaDB.

Ordering. A follower reads notifications by ``id > last_seen``. On MySQL/MariaDB,
auto-increment ids of concurrent transactions can commit out of order, and such a
follower would skip an event for ever. Here every write transaction first takes one
row lock (``SELECT ... FOR UPDATE`` on the writer table; on SQLite ``BEGIN IMMEDIATE``),
then assigns ids ``max(id)+1 ...`` itself and commits. Id order is therefore commit
order, with no gaps, and ``id > last_seen`` never skips.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    ListenNotifySubscription,
    OperationalError,
    StoredEvent,
)
from sqlalchemy import Connection, Engine, MetaData
from sqlalchemy import exc as sa_exc

from domain.values import utc_now
from infrastructure.database import command_engines, is_sqlite, warm_pool, write_transaction
from infrastructure.event_store.command_sql import CommandSql, driver_cursor
from infrastructure.event_store.group_commit import EventRow, GroupCommitter, PendingSave
from infrastructure.event_store.idempotency import IdempotencyRecord
from infrastructure.event_store.reads import RecorderReads
from infrastructure.event_store.tables import event_store_tables
from infrastructure.migrations.upgrade import ensure_schema

__all__ = ["IdempotencyRecord", "PollingSubscription", "SqlEventRecorder"]  # IdempotencyRecord: idempotency.py

FUSED_STATE_BYTES = 512 * 1024  # above this, a group's inserts go as the driver splits them


class SqlEventRecorder(RecorderReads, ApplicationRecorder):
    """Writes (group commit, ordering) here; reads in ``RecorderReads`` (reads.py)."""

    def __init__(self, engine: Engine, events_table: str = "stored_events") -> None:
        self.engine = engine
        self.metadata = MetaData()
        self.events, self.writer_lock, self.idempotency = event_store_tables(self.metadata, events_table)
        self.sql = CommandSql(engine, self.events, self.writer_lock, self.idempotency)
        self._subscriptions: list[PollingSubscription] = []
        self._subscriptions_lock = threading.Lock()
        in_memory = is_sqlite(engine) and engine.url.database in (None, "", ":memory:")
        companions = command_engines(engine)
        # command reads and group commits on their own engines on MariaDB (database.py)
        self.read_engine: Engine = companions[0] if companions else engine
        self._commit_engine: Engine | None = companions[1] if companions else None
        self._committer = GroupCommitter(self._transact, self._wake_subscriptions, inline=in_memory)
        self._local = threading.local()

    # ------------------------------------------------------------------ schema

    def create_tables(self) -> None:
        """The tracker's schema at head: the migrations create these tables (and the
        writer lock's row), under the schema lock; one SELECT when already there."""
        ensure_schema(self.engine, self.events.name)

    def open_connections(self, reads: int) -> None:
        """Open the command path's connections now (a server's first requests waited for
        connects): ``reads`` pooled read connections and the committer's connection."""
        warm_pool(self.read_engine, reads)
        if self._commit_engine is not None:
            warm_pool(self._commit_engine, 1)

    def close(self) -> None:
        """Close the pooled connections of every engine (a server's shutdown); a later use
        opens new ones."""
        for engine in (self.engine, self.read_engine, self._commit_engine):
            if engine is not None:
                engine.dispose()

    # ------------------------------------------------------------------ writes

    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        idempotency: IdempotencyRecord | None = None,
        **_: Any,
    ) -> Sequence[int]:
        """Commit the events (and the command's idempotency record) atomically, sharing the
        transaction with saves made at the same moment by other threads (group_commit.py)."""
        save = PendingSave(_event_rows(stored_events), idempotency)
        try:
            return self._committer.commit(save)
        except sa_exc.IntegrityError as error:
            raise IntegrityError(str(error.orig)) from error
        except sa_exc.OperationalError as error:
            raise OperationalError(str(error.orig)) from error

    def _transact(self, saves: list[PendingSave]) -> None:
        """One group's whole write transaction (run by the group committer)."""
        if self._commit_engine is None:
            with write_transaction(self.engine) as conn:
                self._write_group(conn, saves)
            return
        with self._commit_engine.connect() as conn, driver_cursor(conn) as cursor:
            try:
                self._write_group_fused(cursor, saves)
            except BaseException:
                try:
                    cursor.connection.rollback()
                except Exception:
                    conn.invalidate()  # never pool a connection that may still hold the writer lock
                raise

    def _write_group(self, conn: Connection, saves: list[PendingSave]) -> None:
        """Within the caller's write transaction: every save's events, ids in the saves'
        order, then every idempotency record with the position of its own command's last
        event. A save whose idempotency key is already recorded (a retried request) is
        refused alone, with an IntegrityError, before anything is written: one statement
        for the whole group instead of one lookup per command, and the others still commit."""
        first = self.lock_and_next_id(conn) if saves else 0
        with driver_cursor(conn) as cursor:
            rows, records = self._assign(saves, first, self._recorded_keys(cursor, saves))
            self._insert(cursor, rows, records)

    def _write_group_fused(self, cursor: Any, saves: list[PendingSave]) -> None:
        """``_write_group`` and its commit in one round trip that holds the writer lock
        (MariaDB/MySQL, on the committer's multi-statement connection): lock, next id into
        a session variable, the inserts with ids relative to it, COMMIT. The lock is held
        only while the server runs them, never while this process waits for its GIL or
        collects garbage (the other workers' commits queue behind the lock). The server
        stops at the first failing statement, so COMMIT never follows a failed insert (the
        caller rolls back). Recorded idempotency keys are looked up first, without the
        lock: a key recorded in between fails its insert, and the group is split."""
        recorded = self._recorded_keys(cursor, saves)
        if sum(len(row[3]) for save in saves for row in save.rows) > FUSED_STATE_BYTES:
            self._write_big_group(cursor, saves, recorded)
            return
        rows, records = self._assign(saves, 1, recorded)  # ids relative to the stored maximum
        statements = [self.sql.lock_writers, self.sql.max_id_into_base, self.sql.select_base]
        if rows:
            values = ",".join(cursor.mogrify(self.sql.event_values_after_base, row) for row in rows)
            statements.append(self.sql.insert_event_prefix + values)
        if records:
            values = ",".join(cursor.mogrify(self.sql.idempotency_values_after_base, record) for record in records)
            statements.append(self.sql.insert_idempotency_prefix + values)
        cursor.execute(";".join([*statements, "COMMIT"]))
        cursor.nextset()  # the SELECT ... INTO
        cursor.nextset()
        base = int(cursor.fetchone()[0])
        while cursor.nextset():
            pass
        for save in saves:
            save.ids = [base + i for i in save.ids]

    def _write_big_group(self, cursor: Any, saves: list[PendingSave], recorded: set[str]) -> None:
        """Over FUSED_STATE_BYTES of events: ids first, then the driver's split inserts."""
        cursor.execute(";".join([self.sql.lock_writers, self.sql.max_id]))
        cursor.fetchall()
        cursor.nextset()
        rows, records = self._assign(saves, int(cursor.fetchone()[0] or 0) + 1, recorded)
        self._insert(cursor, rows, records)
        cursor.connection.commit()

    def _recorded_keys(self, cursor: Any, saves: list[PendingSave]) -> set[str]:
        """The idempotency keys of these saves that are already recorded (one statement)."""
        keys = [save.idempotency_key for save in saves if save.idempotency_key is not None]
        if not keys:
            return set()
        cursor.execute(self.sql.recorded_keys(len(keys)), keys)
        return {row[0] for row in cursor.fetchall()}

    def _insert(self, cursor: Any, rows: list[tuple[Any, ...]], records: list[tuple[Any, ...]]) -> None:
        if rows:
            cursor.executemany(self.sql.insert_event, rows)
        if records:
            cursor.executemany(self.sql.insert_idempotency, records)

    def _assign(
        self, saves: list[PendingSave], first: int, recorded: set[str]
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """Ids from ``first`` on for the saves not refused, their event rows and their
        idempotency rows; a save whose key is in ``recorded`` gets its IntegrityError."""
        rows: list[tuple[Any, ...]] = []
        records: list[tuple[Any, ...]] = []
        next_id = first
        for save in saves:
            if save.idempotency_key is not None and save.idempotency_key in recorded:
                save.error = sa_exc.IntegrityError(
                    "idempotency key", None, Exception(f"idempotency key {save.idempotency_key!r} is already recorded")
                )
                continue
            save.ids = list(range(next_id, next_id + len(save.rows)))
            rows += [(i, *row) for i, row in zip(save.ids, save.rows, strict=True)]
            next_id += len(save.rows)
            if save.idempotency is not None:
                records.append(self._idempotency_row(save.idempotency, save.ids[-1] if save.ids else None))
        return rows, records

    def insert_events_in(self, conn: Connection, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Insert within the caller's transaction (which must be a write transaction)."""
        if not stored_events:
            return []
        save = PendingSave(_event_rows(stored_events))
        self._write_group(conn, [save])
        return save.ids

    def lock_and_next_id(self, conn: Connection) -> int:
        """Serialise writers and return the next notification id."""
        with driver_cursor(conn) as cursor:
            if not is_sqlite(conn):
                cursor.execute(self.sql.lock_writers)
                cursor.fetchall()
            cursor.execute(self.sql.max_id)
            current = cursor.fetchone()[0]
        return int(current or 0) + 1

    def _idempotency_row(self, record: IdempotencyRecord, position: int | None) -> tuple[Any, ...]:
        return (
            record.key,
            record.command,
            record.fingerprint,
            json.dumps(record.result, sort_keys=True),
            position,
            self.sql.created_at(utc_now()),
        )

    # ------------------------------------------------------------------ following

    def subscribe(
        self, gt: int | None = None, topics: Sequence[str] = (), *, interval: float = 0.2
    ) -> PollingSubscription:
        return PollingSubscription(self, gt=gt, topics=topics, interval=interval)

    def _register(self, subscription: PollingSubscription) -> None:
        with self._subscriptions_lock:
            self._subscriptions.append(subscription)

    def _unregister(self, subscription: PollingSubscription) -> None:
        with self._subscriptions_lock:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

    def _wake_subscriptions(self) -> None:
        with self._subscriptions_lock:
            for subscription in self._subscriptions:
                subscription.wake()


class PollingSubscription(ListenNotifySubscription[SqlEventRecorder]):
    """The library's subscription, woken by polling instead of PostgreSQL's NOTIFY
    (and at once by writes made through the same recorder). Works on every database."""

    def __init__(
        self,
        recorder: SqlEventRecorder,
        gt: int | None = None,
        topics: Sequence[str] = (),
        interval: float = 0.2,
    ) -> None:
        super().__init__(recorder=recorder, gt=gt, topics=topics)
        self._interval = interval
        self._stopped = threading.Event()
        recorder._register(self)
        self._poll_thread = threading.Thread(target=self._poll, daemon=True)
        self._poll_thread.start()

    def wake(self) -> None:
        self._has_been_notified.set()

    def _poll(self) -> None:
        while not self._stopped.wait(self._interval):
            self._has_been_notified.set()

    def stop(self) -> None:
        self._stopped.set()
        self._recorder._unregister(self)
        super().stop()

    def __exit__(self, *args: object, **kwargs: Any) -> None:
        try:
            super().__exit__(*args, **kwargs)
        finally:
            self._poll_thread.join()


def _event_rows(stored_events: Sequence[StoredEvent]) -> list[EventRow]:
    return [(_uuid_bytes(e.originator_id), e.originator_version, e.topic, e.state) for e in stored_events]


def _uuid_bytes(originator_id: UUID | str) -> bytes:
    return (originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))).bytes
