"""UserCallScore: one per user. Score arithmetic, call history, activity and queue type."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.call_queue_entry import converted_queue_type
from domain.errors import AlreadyConverted, InvalidValue, UserInactive
from domain.identity import score_id
from domain.legacy_app_writes import attach, record
from domain.rows import RowChange, RowUpdateEvent
from domain.values import (
    INT_MAX,
    EntryStatus,
    ScoringRule,
    check_datetime,
    check_int,
    check_text,
    check_user_id,
    check_varchar,
    clamp_score,
    row_time,
)


@dataclass(frozen=True)
class OrderKey:
    """One key of an ordering of legacy rows: ``kind`` says how values compare (``text``
    by code point, as the bytes of UTF-8 compare; never by a collation)."""

    column: str
    kind: Literal["int", "datetime", "text"]
    descending: bool = False

    def value(self, row: dict[str, Any]) -> Any:
        value = row[self.column]
        return int(value) if self.kind == "int" else str(value) if self.kind == "text" else value


CURRENT_QUEUE_TYPE_ORDER = (
    OrderKey("priority_score", "int", descending=True),
    OrderKey("created_at", "datetime"),
    OrderKey("id", "text"),
)
"""Which of a user's pending entries gives the user's current queue type: the first in this
order (highest priority_score, then oldest created_at, then smallest id by code point)."""


def current_queue_type(entries: Iterable[dict[str, Any]]) -> str | None:
    """The user's queue type from their legacy entries: the first pending entry in
    ``CURRENT_QUEUE_TYPE_ORDER``, its type after the callback conversion."""
    pending = [e for e in entries if e["status"] == EntryStatus.PENDING]
    if not pending:
        return None
    for key in reversed(CURRENT_QUEUE_TYPE_ORDER):  # stable sorts, least significant key first
        pending.sort(key=key.value, reverse=key.descending)
    return converted_queue_type(str(pending[0]["queue_type"]))


def new_score_row(user_id: int, row_id: str, current_queue_type: str | None, at: datetime) -> dict[str, Any]:
    """The row of a user the tracker registers without a legacy score row."""
    return {
        "id": row_id,
        "user_id": user_id,
        "current_score": 0,
        "total_attempts": 0,
        "last_call_outcome": None,
        "last_call_at": None,
        "created_at": at,
        "updated_at": at,
        "is_active": True,
        "current_queue_type": current_queue_type,
        "last_reset_date": at,
        "last_queue_check": None,
    }


class UserCallScore(Aggregate):
    """A user's call score.

    ``row`` is the ``user_call_scores`` row: every legacy column (including ones the
    domain does not model) plus the four new ones. ``has_row`` is false for a user the
    tracker knows only from queue entries or call sessions; such a user gets a row on
    their first recorded call attempt.
    """

    @staticmethod
    def create_id(user_id: int) -> UUID:
        return score_id(user_id)

    def __init__(self) -> None:
        self.row: dict[str, Any] = {}
        self.has_row = False
        self.contributing_agents: list[int] = []
        self.queue_entry_ids: list[str] = []
        self.active_conversion_id: str | None = None

    RowEvent = RowUpdateEvent

    class Seeded(Aggregate.Created):
        """Created from one legacy ``user_call_scores`` row, at bootstrap. ``row`` holds
        every legacy column exactly as read; the other fields are the new columns and
        the call history folded from ``call_sessions``."""

        row: dict[str, Any]
        is_active: bool
        current_queue_type: str | None
        last_reset_date: datetime | None
        last_queue_check: datetime | None
        contributing_agents: list[int]
        queue_entry_ids: list[str]

        def full_row(self) -> dict[str, Any]:
            return {
                **self.row,
                "is_active": self.is_active,
                "current_queue_type": self.current_queue_type,
                "last_reset_date": self.last_reset_date,
                "last_queue_check": self.last_queue_check,
            }

        def row_change(self) -> RowChange:
            return RowChange.insert(self.full_row())

        def apply(self, aggregate: UserCallScore) -> None:
            _begin(aggregate, self.full_row(), True, self.contributing_agents, self.queue_entry_ids)

    class Registered(Aggregate.Created):
        """A user known from queue entries or call sessions, with no score row yet."""

        user_id: int
        row_id: str
        current_queue_type: str | None
        contributing_agents: list[int]
        queue_entry_ids: list[str]

        def row_change(self) -> RowChange:
            return RowChange.nothing(self.row_id)

        def apply(self, aggregate: UserCallScore) -> None:
            row = new_score_row(self.user_id, self.row_id, self.current_queue_type, row_time(self.timestamp))
            _begin(aggregate, row, False, self.contributing_agents, self.queue_entry_ids)

    class CallAttemptRecorded(RowEvent):
        """``score_delta`` is what the scoring rule gave; ``current_score`` and
        ``total_attempts`` are the results. ``opened_row`` is the whole row when this
        attempt is the user's first and creates the row."""

        agent_id: int
        outcome: str
        called_at: datetime
        score_delta: int
        current_score: int
        total_attempts: int
        opened_row: dict[str, Any] | None

        def patch(self) -> dict[str, Any]:
            return {
                "current_score": self.current_score,
                "total_attempts": self.total_attempts,
                "last_call_outcome": self.outcome,
                "last_call_at": self.called_at,
                "updated_at": row_time(self.timestamp),
            }

        def row_change(self) -> RowChange:
            if self.opened_row is not None:
                return RowChange.insert({**self.opened_row, **self.patch()})
            return super().row_change()

        def apply(self, aggregate: UserCallScore) -> None:
            super().apply(aggregate)
            aggregate.has_row = True
            if self.agent_id not in aggregate.contributing_agents:
                aggregate.contributing_agents.append(self.agent_id)

    class ScoreAdjusted(RowEvent):
        delta: int
        reason: str | None
        current_score: int

        def patch(self) -> dict[str, Any]:
            return {"current_score": self.current_score, "updated_at": row_time(self.timestamp)}

    class ScoreReset(RowEvent):
        reason: str | None

        def patch(self) -> dict[str, Any]:
            at = row_time(self.timestamp)
            return {"current_score": 0, "last_reset_date": at, "updated_at": at}

    # QueueTypeChanged and QueueChecked: nothing triggers them any more, but events of
    # these types may already be stored, so the classes stay to decode and project them.

    class QueueTypeChanged(RowEvent):
        queue_type: str | None

        def patch(self) -> dict[str, Any]:
            return {"current_queue_type": self.queue_type, "updated_at": row_time(self.timestamp)}

    class QueueChecked(RowEvent):
        def patch(self) -> dict[str, Any]:
            at = row_time(self.timestamp)
            return {"last_queue_check": at, "updated_at": at}

    class QueueEntryLinked(RowEvent):
        """A queue entry was opened for the user. ``current_queue_type`` is the user's
        queue type afterwards (the entry's type if the user had none)."""

        entry_row_id: str
        current_queue_type: str | None

        def patch(self) -> dict[str, Any]:
            return {"current_queue_type": self.current_queue_type, "updated_at": row_time(self.timestamp)}

        def apply(self, aggregate: UserCallScore) -> None:
            super().apply(aggregate)
            aggregate.queue_entry_ids.append(self.entry_row_id)

    class Deactivated(RowEvent):
        """The user converted: inactive, out of every queue."""

        conversion_row_id: str

        def patch(self) -> dict[str, Any]:
            return {
                "is_active": False,
                "current_queue_type": None,
                "updated_at": row_time(self.timestamp),
            }

        def apply(self, aggregate: UserCallScore) -> None:
            super().apply(aggregate)
            aggregate.active_conversion_id = self.conversion_row_id

    class Reactivated(RowEvent):
        """The user's conversion was reversed."""

        conversion_row_id: str
        reason: str | None

        def patch(self) -> dict[str, Any]:
            return {"is_active": True, "updated_at": row_time(self.timestamp)}

        def apply(self, aggregate: UserCallScore) -> None:
            super().apply(aggregate)
            aggregate.active_conversion_id = None

    @classmethod
    def seed(
        cls,
        row: dict[str, Any],
        *,
        current_queue_type: str | None,
        last_queue_check: datetime,
        contributing_agents: list[int],
        queue_entry_ids: list[str],
    ) -> UserCallScore:
        """From one legacy row, kept as read. last_reset_date is the row's created_at
        and last_queue_check the bootstrap time: the guide's intent, which its own SQL
        never achieved (its UPDATE matches no row)."""
        user_id = check_user_id(row["user_id"])
        return cls._create(
            cls.Seeded,
            id=cls.create_id(user_id),
            row=row,
            is_active=True,
            current_queue_type=current_queue_type,
            last_reset_date=row["created_at"],
            last_queue_check=row_time(last_queue_check),
            contributing_agents=contributing_agents,
            queue_entry_ids=queue_entry_ids,
        )

    @classmethod
    def register(
        cls,
        user_id: int,
        row_id: str,
        *,
        current_queue_type: str | None = None,
        contributing_agents: list[int] | None = None,
        queue_entry_ids: list[str] | None = None,
    ) -> UserCallScore:
        user_id = check_user_id(user_id)
        check_varchar("id", row_id)
        return cls._create(
            cls.Registered,
            id=cls.create_id(user_id),
            user_id=user_id,
            row_id=row_id,
            current_queue_type=current_queue_type,
            contributing_agents=list(contributing_agents or []),
            queue_entry_ids=list(queue_entry_ids or []),
        )

    @property
    def row_id(self) -> str:
        return str(self.row["id"])

    @property
    def user_id(self) -> int:
        return int(self.row["user_id"])

    @property
    def current_score(self) -> int:
        return int(self.row["current_score"])

    @property
    def total_attempts(self) -> int:
        return int(self.row["total_attempts"])

    @property
    def is_active(self) -> bool:
        return bool(self.row["is_active"])

    @property
    def current_queue_type(self) -> str | None:
        return self.row["current_queue_type"]

    @property
    def last_call_at(self) -> datetime | None:
        return self.row["last_call_at"]

    def _trigger(self, event_class: type[RowEvent], **kwargs: Any) -> None:
        self.trigger_event(event_class, row_id=self.row_id, **kwargs)

    def record_call_attempt(self, *, agent_id: int, outcome: str, called_at: datetime, rule: ScoringRule) -> None:
        check_int("agent_id", agent_id)
        check_varchar("outcome", outcome)
        delta = rule.delta_for(outcome)
        self._trigger(
            self.CallAttemptRecorded,
            agent_id=agent_id,
            outcome=outcome,
            called_at=check_datetime("called_at", called_at),
            score_delta=delta,
            current_score=clamp_score(self.current_score + delta),
            total_attempts=min(self.total_attempts + 1, INT_MAX),
            opened_row=None if self.has_row else dict(self.row),
        )

    def adjust_score(self, delta: int, reason: str | None = None) -> None:
        check_int("delta", delta)
        check_text("reason", reason)
        self._trigger(
            self.ScoreAdjusted, delta=delta, reason=reason, current_score=clamp_score(self.current_score + delta)
        )

    def reset_score(self, reason: str | None = None) -> None:
        check_text("reason", reason)
        self._trigger(self.ScoreReset, reason=reason)

    def link_queue_entry(self, entry_row_id: str, queue_type: str) -> None:
        if entry_row_id in self.queue_entry_ids:
            raise InvalidValue("entry_id", f"entry {entry_row_id} is already linked")
        self._trigger(
            self.QueueEntryLinked, entry_row_id=entry_row_id, current_queue_type=self.current_queue_type or queue_type
        )

    def deactivate_for_conversion(self, conversion_row_id: str) -> None:
        if self.active_conversion_id is not None:
            raise AlreadyConverted(
                f"user {self.user_id} already has active conversion "
                f"{self.active_conversion_id}; reverse it before recording another"
            )
        self._trigger(self.Deactivated, conversion_row_id=conversion_row_id)

    def reactivate(self, conversion_row_id: str, reason: str | None) -> None:
        if self.active_conversion_id != conversion_row_id:
            raise UserInactive(f"user {self.user_id} is not deactivated by conversion {conversion_row_id}")
        self._trigger(self.Reactivated, conversion_row_id=conversion_row_id, reason=reason)


def _begin(aggregate: UserCallScore, row: dict[str, Any], has_row: bool, agents: list[int], entries: list[str]) -> None:
    """A score's state when it is created (seeded from a legacy row, or registered)."""
    aggregate.row = row
    aggregate.has_row = has_row
    aggregate.contributing_agents = list(agents)
    aggregate.queue_entry_ids = list(entries)
    aggregate.active_conversion_id = None


# ---------------------------------------------------------------- the legacy app's writes
# After a rollback the legacy app writes the legacy tables again; the next bootstrap turns
# each row it changed, added or deleted into one of these events (``bootstrap.resync``).
# They are defined here, outside the class body (which is at its size limit), and
# attached to the aggregate below, so their topics read ``UserCallScore.<Event>``.


class ChangedInLegacyApp(RowUpdateEvent):
    """The legacy app changed the user's score row: ``legacy_values`` are the legacy
    columns it changed, as it left them (every legacy column is a tracker column too)."""

    legacy_values: dict[str, Any]

    def patch(self) -> dict[str, Any]:
        return dict(self.legacy_values)


class AddedInLegacyApp(RowUpdateEvent):
    """The legacy app added a score row for a user the tracker already knew (registered
    without a row, or whose row it had deleted): ``row`` is the whole row."""

    row: dict[str, Any]

    def row_change(self) -> RowChange:
        return RowChange.insert(self.row)

    def apply(self, aggregate: UserCallScore) -> None:
        aggregate.row = dict(self.row)
        aggregate.has_row = True


class DeletedInLegacyApp(RowUpdateEvent):
    """The legacy app deleted the user's score row: ``legacy_row`` is the row as the
    tracker last had it (the event log keeps it)."""

    legacy_row: dict[str, Any]

    def row_change(self) -> RowChange:
        return RowChange.delete(self.row_id)

    def apply(self, aggregate: UserCallScore) -> None:
        if aggregate.row_id == self.row_id:
            aggregate.has_row = False


class QueueEntryAddedInLegacyApp(RowUpdateEvent):
    """The legacy app added a queue entry for the user: linked, the row is unchanged."""

    entry_row_id: str

    def row_change(self) -> RowChange:
        return RowChange.nothing(self.row_id)

    def apply(self, aggregate: UserCallScore) -> None:
        if self.entry_row_id not in aggregate.queue_entry_ids:
            aggregate.queue_entry_ids.append(self.entry_row_id)


LEGACY_APP_EVENTS = (ChangedInLegacyApp, AddedInLegacyApp, DeletedInLegacyApp, QueueEntryAddedInLegacyApp)
attach(UserCallScore, LEGACY_APP_EVENTS)


def record_legacy_app_write(score: UserCallScore, event: type[RowUpdateEvent], **fields: Any) -> None:
    """Record on ``score`` one of ``LEGACY_APP_EVENTS`` (what the next bootstrap found)."""
    record(score, LEGACY_APP_EVENTS, event, **fields)
