"""CallQueueEntry: one row of ``call_queue``. pending -> assigned -> completed, or cancelled."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import EntryClosed, InvalidTransition, InvalidValue
from domain.identity import queue_entry_id
from domain.legacy_app_writes import attach, record
from domain.rows import RowChange, RowUpdateEvent
from domain.values import (
    EntryStatus,
    QueueType,
    check_datetime,
    check_int,
    check_text,
    check_user_id,
    check_varchar,
    row_time,
)

LEGACY_CALLBACK_ID_PREFIX = "legacy-callback-"
"""A former ``callback`` entry's callback id: this prefix and the entry's row id."""
CALLBACK_CONVERTS_TO = QueueType.OUTSTANDING_REQUESTS
"""The queue type a legacy ``callback`` entry (exactly that string) becomes; every other type stays."""
SCHEDULE_COLUMNS = ("callback_scheduled_for", "scheduled_for", "callback_at")
"""Legacy columns that may hold a callback's time, in order of preference (the first holding a datetime)."""


def legacy_callback_id(row_id: str) -> str:
    """The callback id a former ``callback`` entry gets: deterministic, so a re-run
    of the bootstrap gives the same value."""
    return f"{LEGACY_CALLBACK_ID_PREFIX}{row_id}"


def is_legacy_callback(queue_type: object) -> bool:
    return queue_type == QueueType.LEGACY_CALLBACK


def converted_queue_type(queue_type: str) -> str:
    """A legacy entry's queue type after the callback conversion."""
    return CALLBACK_CONVERTS_TO if is_legacy_callback(queue_type) else queue_type


def scheduled_for(row: dict[str, Any]) -> datetime | None:
    """A legacy callback's time: the first schedule column holding a datetime."""
    for column in SCHEDULE_COLUMNS:
        value = row.get(column)
        if isinstance(value, datetime):
            return value
    return None


class CallQueueEntry(Aggregate):
    @staticmethod
    def create_id(row_id: str) -> UUID:
        return queue_entry_id(row_id)

    def __init__(self) -> None:
        self.row: dict[str, Any] = {}

    RowEvent = RowUpdateEvent

    class Seeded(Aggregate.Created):
        """Created from one legacy ``call_queue`` row. ``row`` keeps every legacy column
        as read, including the original queue_type; ``queue_type`` is the converted one
        (a ``callback`` entry becomes ``outstanding_requests`` carrying its callback)."""

        row: dict[str, Any]
        queue_type: str
        callback_id: str | None
        callback_scheduled_for: datetime | None
        callback_reason: str | None

        def full_row(self) -> dict[str, Any]:
            return {
                **self.row,
                "queue_type": self.queue_type,
                "callback_id": self.callback_id,
                "callback_scheduled_for": self.callback_scheduled_for,
                "callback_reason": self.callback_reason,
            }

        def row_change(self) -> RowChange:
            return RowChange.insert(self.full_row())

        def apply(self, aggregate: CallQueueEntry) -> None:
            aggregate.row = self.full_row()

    class Enqueued(Aggregate.Created):
        row_id: str
        user_id: int
        queue_type: str
        priority_score: int
        queue_reason: str | None

        def full_row(self) -> dict[str, Any]:
            at = row_time(self.timestamp)
            return {
                "id": self.row_id,
                "user_id": self.user_id,
                "queue_type": self.queue_type,
                "priority_score": self.priority_score,
                "status": EntryStatus.PENDING,
                "assigned_to_agent_id": None,
                "assigned_at": None,
                "queue_reason": self.queue_reason,
                "created_at": at,
                "updated_at": at,
                "callback_id": None,
                "callback_scheduled_for": None,
                "callback_reason": None,
            }

        def row_change(self) -> RowChange:
            return RowChange.insert(self.full_row())

        def apply(self, aggregate: CallQueueEntry) -> None:
            aggregate.row = self.full_row()

    class Assigned(RowEvent):
        agent_id: int

        def patch(self) -> dict[str, Any]:
            at = row_time(self.timestamp)
            return {
                "status": EntryStatus.ASSIGNED,
                "assigned_to_agent_id": self.agent_id,
                "assigned_at": at,
                "updated_at": at,
            }

    class CallbackScheduled(RowEvent):
        callback_id: str
        scheduled_for: datetime
        reason: str | None

        def patch(self) -> dict[str, Any]:
            return {
                "callback_id": self.callback_id,
                "callback_scheduled_for": self.scheduled_for,
                "callback_reason": self.reason,
                "updated_at": row_time(self.timestamp),
            }

    class CallbackCleared(RowEvent):
        reason: str | None

        def patch(self) -> dict[str, Any]:
            return {
                "callback_id": None,
                "callback_scheduled_for": None,
                "callback_reason": None,
                "updated_at": row_time(self.timestamp),
            }

    class Completed(RowEvent):
        """``reason`` (e.g. ``converted``) is kept in the event; the row's queue_reason
        still says why the user was queued."""

        reason: str | None

        def patch(self) -> dict[str, Any]:
            return {"status": EntryStatus.COMPLETED, "updated_at": row_time(self.timestamp)}

    class Cancelled(RowEvent):
        reason: str | None

        def patch(self) -> dict[str, Any]:
            return {"status": EntryStatus.CANCELLED, "updated_at": row_time(self.timestamp)}

    # --------------------------------------------------------------- creation

    @classmethod
    def seed(cls, row: dict[str, Any], *, callback_scheduled_for: datetime | None = None) -> CallQueueEntry:
        """From one legacy row. A ``callback`` entry keeps its callback: it becomes an
        ``outstanding_requests`` entry with callback_id and callback_reason set (the
        legacy queue_reason), so it stays distinguishable and can be restored."""
        row_id = str(row["id"])
        is_callback = is_legacy_callback(row["queue_type"])
        return cls._create(
            cls.Seeded,
            id=cls.create_id(row_id),
            row=row,
            queue_type=converted_queue_type(row["queue_type"]),
            callback_id=legacy_callback_id(row_id) if is_callback else None,
            callback_scheduled_for=callback_scheduled_for if is_callback else None,
            callback_reason=row.get("queue_reason") if is_callback else None,
        )

    @classmethod
    def enqueue(
        cls,
        *,
        row_id: str,
        user_id: int,
        queue_type: str,
        priority_score: int = 0,
        reason: str | None = None,
    ) -> CallQueueEntry:
        check_varchar("id", row_id)
        user_id = check_user_id(user_id)
        if queue_type not in QueueType.ALL:
            raise InvalidValue("queue_type", f"must be one of {sorted(QueueType.ALL)}, got {queue_type!r:.40}")
        check_int("priority_score", priority_score)
        check_text("reason", reason)
        return cls._create(
            cls.Enqueued,
            id=cls.create_id(row_id),
            row_id=row_id,
            user_id=user_id,
            queue_type=queue_type,
            priority_score=priority_score,
            queue_reason=reason,
        )

    # --------------------------------------------------------------- queries

    @property
    def row_id(self) -> str:
        return str(self.row["id"])

    @property
    def user_id(self) -> int:
        return int(self.row["user_id"])

    @property
    def status(self) -> str:
        return str(self.row["status"])

    @property
    def queue_type(self) -> str:
        return str(self.row["queue_type"])

    @property
    def is_open(self) -> bool:
        return self.status not in EntryStatus.CLOSED

    # --------------------------------------------------------------- commands

    def _require_open(self, action: str) -> None:
        if not self.is_open:
            raise EntryClosed(f"queue entry {self.row_id} is {self.status}; cannot {action} it")

    def _trigger(self, event_class: type[RowEvent], **kwargs: Any) -> None:
        self.trigger_event(event_class, row_id=self.row_id, **kwargs)

    def assign(self, agent_id: int) -> None:
        check_int("agent_id", agent_id)
        self._require_open("assign")
        self._trigger(self.Assigned, agent_id=agent_id)

    def schedule_callback(self, *, callback_id: str, scheduled_for: datetime, reason: str | None = None) -> None:
        check_varchar("callback_id", callback_id)
        check_text("reason", reason)
        self._require_open("schedule a callback on")
        self._trigger(
            self.CallbackScheduled,
            callback_id=callback_id,
            scheduled_for=check_datetime("scheduled_for", scheduled_for),
            reason=reason,
        )

    def clear_callback(self, reason: str | None = None) -> None:
        check_text("reason", reason)
        self._require_open("clear the callback of")
        if self.row.get("callback_id") is None:
            raise InvalidTransition(f"queue entry {self.row_id} has no callback to clear")
        self._trigger(self.CallbackCleared, reason=reason)

    def complete(self, reason: str | None = None) -> None:
        check_text("reason", reason)
        self._require_open("complete")
        self._trigger(self.Completed, reason=reason)

    def cancel(self, reason: str | None = None) -> None:
        check_text("reason", reason)
        self._require_open("cancel")
        self._trigger(self.Cancelled, reason=reason)


# ---------------------------------------------------------------- the legacy app's writes
# After a rollback the legacy app writes call_queue again; the next bootstrap turns each
# row it changed, added again or deleted into one of these events (``bootstrap.resync``;
# a row with a new id gets the ordinary ``Seeded``). Attached to the aggregate below, so
# their topics read ``CallQueueEntry.<Event>``.


class ChangedInLegacyApp(RowUpdateEvent):
    """The legacy app changed the entry's row: ``legacy_values`` are the legacy columns it
    changed, as it left them; ``values`` the tracker's columns they set (a legacy
    ``callback`` queue_type is the callback columns, as at the first bootstrap)."""

    legacy_values: dict[str, Any]
    values: dict[str, Any]

    def patch(self) -> dict[str, Any]:
        return dict(self.values)


class AddedInLegacyApp(RowUpdateEvent):
    """The legacy app added a row again under an id the tracker had seen deleted:
    ``row`` is the whole tracker row."""

    row: dict[str, Any]

    def row_change(self) -> RowChange:
        return RowChange.insert(self.row)

    def apply(self, aggregate: CallQueueEntry) -> None:
        aggregate.row = dict(self.row)


class DeletedInLegacyApp(RowUpdateEvent):
    """The legacy app deleted the entry's row: ``legacy_row`` is the row as the tracker
    last had it (the event log keeps it)."""

    legacy_row: dict[str, Any]

    def row_change(self) -> RowChange:
        return RowChange.delete(self.row_id)

    def apply(self, aggregate: CallQueueEntry) -> None:
        return None


LEGACY_APP_EVENTS = (ChangedInLegacyApp, AddedInLegacyApp, DeletedInLegacyApp)
attach(CallQueueEntry, LEGACY_APP_EVENTS)


def record_legacy_app_write(entry: CallQueueEntry, event: type[RowUpdateEvent], **fields: Any) -> None:
    """Record on ``entry`` one of ``LEGACY_APP_EVENTS`` (what the next bootstrap found)."""
    record(entry, LEGACY_APP_EVENTS, event, **fields)
