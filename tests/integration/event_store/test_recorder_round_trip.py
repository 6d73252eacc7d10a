from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from domain import commands
from domain.call_queue_entry import CallQueueEntry
from domain.errors import IdempotencyKeyReused
from domain.user_call_score import UserCallScore
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker


def legacy_score_row(user_id: int, **overrides: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": f"cuid-{user_id}",
        "user_id": user_id,
        "current_score": 2**31 - 1,
        "total_attempts": 0,
        "last_call_outcome": 'it\'s a "quote"\tand a tab — ünïcödé 🎉',
        "last_call_at": datetime(2024, 2, 29, 23, 59, 59, 999000),
        "created_at": datetime(2023, 1, 1, 0, 0, 0, 1000),
        "updated_at": datetime(2023, 1, 2, 3, 4, 5, 678000),
        "legacy_note": Decimal("12345678.90"),
    }
    row.update(overrides)
    return row


def test_a_seeded_score_reads_back_with_every_value_exact(database_url: str) -> None:
    tracker = open_tracker(Settings(database_url=database_url))
    row = legacy_score_row(42)
    score = UserCallScore.seed(
        row,
        current_queue_type="unsigned_users",
        last_queue_check=datetime(2026, 1, 1, 12, 0, 0, 123000),
        contributing_agents=[3, 1],
        queue_entry_ids=["q1"],
    )
    tracker.save(score)
    loaded = tracker.get_score(42)
    for column, value in row.items():
        assert loaded.row[column] == value
        assert type(loaded.row[column]) is type(value)
    assert loaded.row["last_reset_date"] == row["created_at"]
    assert loaded.contributing_agents == [3, 1]


def test_an_event_larger_than_64_kib_is_stored_and_read_back(database_url: str) -> None:
    tracker = open_tracker(Settings(database_url=database_url))
    huge_reason = "ü" * 200_000  # 400 KB of UTF-8
    entry = CallQueueEntry.seed(
        {
            "id": "big",
            "user_id": 7,
            "queue_type": "callback",
            "priority_score": 0,
            "status": "pending",
            "assigned_to_agent_id": None,
            "assigned_at": None,
            "queue_reason": huge_reason,
            "created_at": datetime(2024, 1, 1),
            "updated_at": datetime(2024, 1, 1),
        }
    )
    tracker.save(entry)
    notifications = tracker.sql_recorder.select_notifications(start=1, limit=10)
    assert len(notifications[0].state) > 64 * 1024
    loaded = tracker.get_entry("big")
    assert loaded.row["queue_reason"] == huge_reason
    assert loaded.row["callback_reason"] == huge_reason
    assert loaded.queue_type == "outstanding_requests"
    assert loaded.row["callback_id"] == "legacy-callback-big"


def test_a_command_retried_with_the_same_idempotency_key_records_once(database_url: str) -> None:
    tracker = open_tracker(Settings(database_url=database_url))
    first = tracker.execute(
        commands.RecordConversion(user_id=5, conversion_type="signed", claim_value="10.05"), idempotency_key="k-1"
    )
    before = tracker.sql_recorder.count_events()
    second = tracker.execute(
        commands.RecordConversion(user_id=5, conversion_type="signed", claim_value="10.05"), idempotency_key="k-1"
    )
    assert second.replayed and second.ids == first.ids and second.position == first.position
    assert tracker.sql_recorder.count_events() == before


def test_a_retry_the_rules_would_accept_again_is_refused_by_the_save_and_answers_the_first_result(
    database_url: str,
) -> None:
    """A call attempt can be recorded any number of times: only the recorded key tells a
    retry from a new attempt (the save refuses it; the first result is answered)."""
    tracker = open_tracker(Settings(database_url=database_url))
    first = tracker.execute(
        commands.RecordCallAttempt(user_id=8, agent_id=2, outcome="busy"), idempotency_key="attempt-1"
    )
    before = tracker.sql_recorder.count_events()
    again = tracker.execute(
        commands.RecordCallAttempt(user_id=8, agent_id=2, outcome="busy"), idempotency_key="attempt-1"
    )
    assert again.replayed and again.ids == first.ids and again.position == first.position
    assert tracker.get_score(8).total_attempts == 1
    with pytest.raises(IdempotencyKeyReused):
        tracker.execute(commands.RecordCallAttempt(user_id=8, agent_id=3, outcome="busy"), idempotency_key="attempt-1")
    assert tracker.sql_recorder.count_events() == before
