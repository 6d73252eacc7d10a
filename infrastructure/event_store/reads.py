"""The recorder's reads: aggregates' events (the command path), notifications in order
(followers), idempotency records, and the connection a command's reads share."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification, StoredEvent
from sqlalchemy import Connection, Engine, Table, func, select

from infrastructure.event_store.command_sql import CommandSql, driver_cursor
from infrastructure.event_store.idempotency import IdempotencyRecord


class RecorderReads:
    """Mixed into ``SqlEventRecorder``, which sets these attributes."""

    engine: Engine
    read_engine: Engine
    events: Table
    sql: CommandSql
    _local: threading.local

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Within this block, the current thread's reads (a command's idempotency check and
        aggregate loads) share one pooled connection instead of checking one out each."""
        if getattr(self._local, "conn", None) is not None:
            yield
            return
        with self.read_engine.connect() as conn:
            self._local.conn = conn
            try:
                yield
            finally:
                self._local.conn = None

    @contextmanager
    def _reader(self) -> Iterator[Connection]:
        shared: Connection | None = getattr(self._local, "conn", None)
        if shared is not None:
            yield shared
            return
        with self.read_engine.connect() as conn:
            yield conn

    def idempotency_record(self, key: str) -> IdempotencyRecord | None:
        with self._reader() as conn, driver_cursor(conn) as cursor:
            cursor.execute(self.sql.select_idempotency, (key,))
            row = cursor.fetchone()
        if row is None:
            return None
        stored_key, command, fingerprint, result, position = row
        return IdempotencyRecord(
            key=stored_key,
            command=command,
            fingerprint=fingerprint,
            result=json.loads(result),
            position=None if position is None else int(position),
        )

    # ------------------------------------------------------------------ reads

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> list[StoredEvent]:
        oid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
        if gt is None and lte is None and limit is None and not desc:  # loading a whole aggregate
            with self._reader() as conn, driver_cursor(conn) as cursor:
                cursor.execute(self.sql.select_events, (oid.bytes,))
                rows = cursor.fetchall()
            return [StoredEvent(oid, int(version), topic, bytes(state)) for version, topic, state in rows]
        t = self.events
        query = select(t.c.originator_version, t.c.topic, t.c.state).where(t.c.originator_id == oid.bytes)
        if gt is not None:
            query = query.where(t.c.originator_version > gt)
        if lte is not None:
            query = query.where(t.c.originator_version <= lte)
        query = query.order_by(t.c.originator_version.desc() if desc else t.c.originator_version)
        if limit is not None:
            query = query.limit(limit)
        with self._reader() as conn:
            rows = conn.execute(query).all()
        return [StoredEvent(oid, version, topic, bytes(state)) for version, topic, state in rows]

    def events_of(self, originator_ids: Sequence[UUID]) -> list[Notification]:
        """Every event of these aggregates with its position, in position order (one
        statement on the aggregate index: a user's history, an aggregate as of a moment)."""
        if not originator_ids:
            return []
        t = self.events
        query = (
            select(t.c.id, t.c.originator_id, t.c.originator_version, t.c.topic, t.c.state)
            .where(t.c.originator_id.in_([i.bytes for i in originator_ids]))
            .order_by(t.c.id)
        )
        with self._reader() as conn:
            return [_notification(row) for row in conn.execute(query)]

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        t = self.events
        query = select(t.c.id, t.c.originator_id, t.c.originator_version, t.c.topic, t.c.state)
        if start is not None:
            query = query.where(t.c.id >= start if inclusive_of_start else t.c.id > start)
        if stop is not None:
            query = query.where(t.c.id <= stop)
        if topics:
            query = query.where(t.c.topic.in_(list(topics)))
        query = query.order_by(t.c.id).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_notification(row) for row in rows]

    def max_notification_id(self) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(self.events.c.id))).scalar()
        return None if value is None else int(value)

    def count_events(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.events)).scalar() or 0)


def _notification(row: Sequence[Any]) -> Notification:
    return Notification(
        id=row[0],
        originator_id=UUID(bytes=bytes(row[1])),
        originator_version=row[2],
        topic=row[3],
        state=bytes(row[4]),
    )
