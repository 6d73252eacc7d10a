"""Legacy rows -> seed aggregates, with the guide's defects fixed.

The rules live in the domain, so the server path (``seed_sql``) and verify build their SQL
from the same definitions:

- current_queue_type is computed after callbacks become outstanding_requests (the
  guide computes it before, leaving users on a queue type that no longer exists), and
  deterministically: among the user's pending entries, the first in
  ``domain.user_call_score.CURRENT_QUEUE_TYPE_ORDER`` (highest priority_score, then oldest
  created_at, then smallest id; the guide's LIMIT 1 has no ORDER BY).
- last_reset_date = the row's created_at and last_queue_check = the bootstrap time for
  every row (the guide's UPDATE ... WHERE is_active IS NULL matches no row).
- callbacks keep their callback: callback_id, callback_reason (the legacy reason) and
  callback_scheduled_for (from a legacy column when one exists,
  ``domain.call_queue_entry.SCHEDULE_COLUMNS``); the seed event keeps the original
  queue_type, so a rollback restores them exactly.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.call_queue_entry import CallQueueEntry, scheduled_for
from domain.identity import new_score_row_id
from domain.user_call_score import UserCallScore, current_queue_type


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
        new_score_row_id(user_id),
        current_queue_type=current_queue_type(entries),
        contributing_agents=agents,
        queue_entry_ids=[str(e["id"]) for e in entries],
    )
