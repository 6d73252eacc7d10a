"""A user's history and the user's records as they stood at a past moment, from the events.

Finding a user's events needs no index: the user's ``UserCallScore`` (its id is the uuid5
of the user id) lists every queue entry linked to the user (seeded, or enqueued: the
enqueue links it in the same save) and every conversion of the user deactivated it
(``Deactivated.conversion_row_id``, in the same save). So two statements on the events'
aggregate index find everything: the score's events, then those of its entries and
conversions. This works in every phase, before cutover and after a rollback too.

Seed events carry no metadata of their own (the server path writes a million of them in
SQL; see docs/decisions.md): their actor is the bootstrap run, ``bootstrap:`` and the
operator recorded on ``BootstrapRun.Started``, and their request id is that event's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile
from typing import Any
from uuid import UUID

from eventsourcing.application import project_aggregate
from eventsourcing.persistence import Notification

from domain.bootstrap_run import BootstrapRun
from domain.call_queue_entry import CallQueueEntry
from domain.errors import UnknownUser
from domain.event_metadata import META_KEY, EventMetadata
from domain.identity import conversion_id, queue_entry_id, score_id
from domain.user_call_score import UserCallScore
from domain.values import check_user_id, row_time
from infrastructure.application import ConversionTracker
from infrastructure.json_values import plain_json, utc_milliseconds
from infrastructure.pages import page

SEED_EVENTS = (UserCallScore.Seeded, UserCallScore.Registered, CallQueueEntry.Seeded)
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", META_KEY})


@dataclass(frozen=True)
class Recorded:
    """One event of a user's history: where and when it was recorded, by whom, and what it did."""

    position: int
    event: Any
    metadata: EventMetadata | None

    def to_dict(self) -> dict[str, Any]:
        aggregate, _, name = type(self.event).__qualname__.rpartition(".")
        change = self.event.row_change()
        meta = self.metadata
        return {
            "position": self.position,
            "at": utc_milliseconds(self.event.timestamp),
            "aggregate": aggregate,
            "event": name,
            "row_id": change.row_id,
            "actor": meta.actor if meta else None,
            "request_id": meta.request_id if meta else None,
            "idempotency_key": meta.idempotency_key if meta else None,
            "change": {"kind": change.kind, "values": plain_json(change.values)},
            "data": plain_json({k: v for k, v in vars(self.event).items() if k not in ENVELOPE}),
        }


def _decoded(tracker: ConversionTracker, originator_ids: list[UUID]) -> list[tuple[Notification, Any]]:
    notifications = tracker.sql_recorder.events_of(originator_ids)
    return [(n, tracker.mapper.to_domain_event(n)) for n in notifications]


def _score_events(tracker: ConversionTracker, user_id: int) -> list[tuple[Notification, Any]]:
    found = _decoded(tracker, [score_id(check_user_id(user_id))])
    if not found:
        raise UnknownUser(f"no events for user {user_id}: the tracker does not know the user")
    return found


def _entry_ids(score_events: list[tuple[Notification, Any]]) -> list[UUID]:
    """The aggregate ids of the user's queue entries, from the score's events."""
    score: UserCallScore = project_aggregate(None, [event for _, event in score_events])
    return [queue_entry_id(row_id) for row_id in score.queue_entry_ids]


def _conversion_ids(score_events: list[tuple[Notification, Any]]) -> list[UUID]:
    """The aggregate ids of the user's conversions: each deactivated the user's score."""
    kinds = UserCallScore.Deactivated | UserCallScore.Reactivated
    return [conversion_id(c) for c in sorted({e.conversion_row_id for _, e in score_events if isinstance(e, kinds)})]


def user_history(tracker: ConversionTracker, user_id: int) -> list[Recorded]:
    """Every event that touched the user, in the order recorded (position)."""
    with tracker.sql_recorder.reading():
        found = _score_events(tracker, user_id)
        found += _decoded(tracker, _entry_ids(found) + _conversion_ids(found))
    found.sort(key=lambda pair: pair[0].id)
    seed = _seed_metadata(tracker) if any(isinstance(e, SEED_EVENTS) for _, e in found) else None
    return [Recorded(n.id, e, EventMetadata.of(e) or (seed if isinstance(e, SEED_EVENTS) else None)) for n, e in found]


def history_page(recorded: list[Recorded], user_id: int, limit: int, offset: int) -> dict[str, Any]:
    """One page of a user's history (the HTTP API's and ``convtrack history --json``)."""
    return {"user_id": user_id, **page([r.to_dict() for r in recorded[offset : offset + limit + 1]], limit, offset)}


def _seed_metadata(tracker: ConversionTracker) -> EventMetadata:
    """The bootstrap run as the actor of the seed events: recorded once, on its Started event."""
    started = tracker.repository.event_store.get(BootstrapRun.create_id(), lte=1)
    run = EventMetadata.of(next(iter(started), None))
    return EventMetadata(f"bootstrap:{run.actor}" if run else "bootstrap", run.request_id if run else None)


# ---------------------------------------------------------------------------- as of


def _as_of(events: list[Any], moment: datetime) -> Any:
    """The aggregate from its events recorded at or before ``moment`` (compared in
    milliseconds, as history shows them), or None if it did not exist yet."""
    upto = list(takewhile(lambda e: row_time(e.timestamp) <= moment, events))
    return project_aggregate(None, upto) if upto else None


def score_as_of(tracker: ConversionTracker, user_id: int, moment: datetime) -> dict[str, Any]:
    """The user's ``user_call_scores`` row as it stood at ``moment`` (naive UTC)."""
    score = _as_of([e for _, e in _score_events(tracker, user_id)], moment)
    if score is None or not score.has_row:
        raise UnknownUser(f"user {user_id} had no score row at {utc_milliseconds(moment)}")
    return dict(score.row)


def entries_as_of(tracker: ConversionTracker, user_id: int, moment: datetime, queue_type: str) -> list[dict[str, Any]]:
    """The user's open ``call_queue`` rows of ``queue_type`` as they stood at ``moment``,
    in the queue's order (highest priority, then oldest, then id)."""
    with tracker.sql_recorder.reading():
        by_entry: dict[UUID, list[Any]] = {}
        for notification, event in _decoded(tracker, _entry_ids(_score_events(tracker, user_id))):
            by_entry.setdefault(notification.originator_id, []).append(event)
    rows = []
    for events in by_entry.values():
        entry = _as_of(events, moment)
        if entry is not None and entry.is_open and entry.queue_type == queue_type:
            rows.append(dict(entry.row))
    rows.sort(key=lambda r: str(r["id"]))
    rows.sort(key=lambda r: r["created_at"])
    rows.sort(key=lambda r: -int(r["priority_score"]))
    return rows
