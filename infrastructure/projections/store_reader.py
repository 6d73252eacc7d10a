"""Reads the event store for a projection: plain rows in id order, and the domain events
made from them.

A rebuild reads every event once, so the per-event cost matters: rows come straight from
the DBAPI cursor (no Notification objects), and events are made as the library's
``Mapper.to_domain_event`` makes them (decode the state, set the originator id and
version, ``object.__new__`` the class) without its per-call lookups. A mapper with a
cipher or a compressor, or an event whose stored class version differs from its class
(an upcast), goes through ``Mapper.to_domain_event`` itself.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification
from eventsourcing.utils import resolve_topic

from infrastructure.event_store.recorder import SqlEventRecorder

StoredRow = tuple[int, bytes, int, str, bytes]  # id, originator id (16 bytes), version, topic, state


class StoreReader:
    """``partition=(k, n)`` (MariaDB/MySQL) reads only the events of aggregates whose
    originator id's last byte is k modulo n: each aggregate's events, in order, and no
    others. Every projected row belongs to one aggregate, so n readers can project
    disjoint rows side by side (see ``parallel_replay``)."""

    def __init__(
        self, recorder: SqlEventRecorder, mapper: Mapper[Any], partition: tuple[int, int] | None = None
    ) -> None:
        self.engine = recorder.engine
        self.mapper = mapper
        self.plain = mapper.cipher is None and mapper.compressor is None
        self.decode = mapper.transcoder.decode
        table = self.engine.dialect.identifier_preparer.format_table(recorder.events)
        mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
        only = ""
        if partition is not None:
            part, parts = partition
            if self.engine.dialect.name not in {"mysql", "mariadb"} or not 0 <= part < parts:
                raise ValueError(f"cannot read partition {part} of {parts} on {self.engine.dialect.name}")
            only = f"AND MOD(ORD(SUBSTRING(originator_id, 16, 1)), {int(parts)}) = {int(part)} "
        self.sql = (
            f"SELECT id, originator_id, originator_version, topic, state FROM {table} "
            f"WHERE id > {mark} AND id <= {mark} {only}ORDER BY id LIMIT {mark}"
        )

    def rows(self, after: int, stop: int, limit: int) -> list[StoredRow]:
        """Up to ``limit`` rows with ``after < id <= stop``, in id order."""
        connection = self.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(self.sql, (after, stop, limit))
            rows: list[StoredRow] = list(cursor.fetchall())
            cursor.close()
            connection.commit()  # ends the read transaction; the connection goes back clean
        finally:
            connection.close()
        return rows

    def event(self, row: StoredRow) -> Any:
        position, originator_id, version, topic, state = row
        cls = resolve_topic(topic)
        if self.plain:
            event_state = self.decode(bytes(state))
            if event_state.pop("class_version", 1) == getattr(cls, "class_version", 1):
                event_state["originator_id"] = UUID(bytes=bytes(originator_id))
                event_state["originator_version"] = version
                event = object.__new__(cls)
                object.__setattr__(event, "__dict__", event_state)
                return event
        notification = Notification(
            id=position,
            originator_id=UUID(bytes=bytes(originator_id)),
            originator_version=version,
            topic=topic,
            state=bytes(state),
        )
        return self.mapper.to_domain_event(notification)
