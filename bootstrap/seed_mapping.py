"""Legacy rows -> seed aggregates, with the guide's defects fixed.

- current_queue_type is computed after callbacks become outstanding_requests (the
  guide computes it before, leaving users on a queue type that no longer exists), and
  deterministically: among the user's pending entries, highest priority_score, then
  oldest created_at, then smallest id (the guide's LIMIT 1 has no ORDER BY).
- last_reset_date = the row's created_at and last_queue_check = the bootstrap time for
  every row (the guide's UPDATE ... WHERE is_active IS NULL matches no row).
- callbacks keep their callback: callback_id, callback_reason (the legacy reason) and
  callback_scheduled_for (from a legacy column when one exists); the seed event keeps
  the original queue_type, so a rollback restores them exactly.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from domain.call_queue_entry import CallQueueEntry
from domain.identity import NAMESPACE
from domain.user_call_score import UserCallScore
from domain.values import EntryStatus, QueueType

SCHEDULE_COLUMNS = ("callback_scheduled_for", "scheduled_for", "callback_at")


def converted_queue_type(queue_type: str) -> str:
    return QueueType.OUTSTANDING_REQUESTS if queue_type == QueueType.LEGACY_CALLBACK else queue_type


def current_queue_type(entries: Iterable[dict[str, Any]]) -> str | None:
    pending = [e for e in entries if e["status"] == EntryStatus.PENDING]
    if not pending:
        return None
    chosen = min(pending, key=lambda e: (-int(e["priority_score"]), e["created_at"], str(e["id"])))
    return converted_queue_type(str(chosen["queue_type"]))


def scheduled_for(row: dict[str, Any]) -> datetime | None:
    for column in SCHEDULE_COLUMNS:
        value = row.get(column)
        if isinstance(value, datetime):
            return value
    return None


def seed_queue_entry(row: dict[str, Any]) -> CallQueueEntry:
    return CallQueueEntry.seed(row, callback_scheduled_for=scheduled_for(row))


def seed_score(
    row: dict[str, Any], entries: list[dict[str, Any]], agents: list[int], bootstrap_time: datetime
) -> UserCallScore:
    return UserCallScore.seed(
        row,
        current_queue_type=current_queue_type(entries),
        last_queue_check=bootstrap_time,
        contributing_agents=agents,
        queue_entry_ids=[str(e["id"]) for e in entries],
    )


def register_orphan(user_id: int, entries: list[dict[str, Any]], agents: list[int]) -> UserCallScore:
    """A user with queue rows but no score row: tracked (to find their entries at
    conversion time) without creating a user_call_scores row."""
    return UserCallScore.register(
        user_id,
        uuid.uuid5(NAMESPACE, f"/user_call_scores/new/{user_id}").hex,
        current_queue_type=current_queue_type(entries),
        contributing_agents=agents,
        queue_entry_ids=[str(e["id"]) for e in entries],
    )
