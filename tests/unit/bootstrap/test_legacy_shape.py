"""The legacy shape of a row change: tracker-only columns dropped, a carried callback is
queue_type ``callback`` with its time in the legacy schedule column, a cleared one gives
the entry its own queue type back."""

from __future__ import annotations

from datetime import datetime

import pytest

from bootstrap.legacy_shape import legacy_shape
from domain.rows import RowChange

WHEN = datetime(2026, 12, 1, 9, 30)
SHAPE = legacy_shape(
    [
        ("user_call_scores", ["id", "user_id", "current_score", "updated_at", "referral_code"]),
        ("call_queue", ["id", "queue_type", "status", "queue_reason", "updated_at", "scheduled_for"]),
    ]
)


def test_tracker_only_columns_are_dropped_and_extra_legacy_columns_are_not_written() -> None:
    change = RowChange.update(
        "s1", {"current_score": 0, "last_reset_date": WHEN, "is_active": True, "updated_at": WHEN}
    )
    assert SHAPE.change("user_call_scores", change) == RowChange.update("s1", {"current_score": 0, "updated_at": WHEN})


def test_a_scheduled_callback_makes_the_entry_a_callback_entry_with_its_time() -> None:
    change = RowChange.update(
        "q1", {"callback_id": "c", "callback_scheduled_for": WHEN, "callback_reason": "r", "updated_at": WHEN}
    )
    assert SHAPE.change("call_queue", change) == RowChange.update(
        "q1", {"queue_type": "callback", "scheduled_for": WHEN, "updated_at": WHEN}
    )


def test_a_cleared_callback_gives_the_entry_its_own_queue_type_back() -> None:
    change = RowChange.update(
        "q1", {"callback_id": None, "callback_scheduled_for": None, "callback_reason": None, "updated_at": WHEN}
    )
    assert SHAPE.clears_callback("call_queue", change)
    assert SHAPE.change("call_queue", change, "outstanding_requests") == RowChange.update(
        "q1", {"queue_type": "outstanding_requests", "scheduled_for": None, "updated_at": WHEN}
    )
    with pytest.raises(ValueError):
        SHAPE.change("call_queue", change)


def test_an_enqueued_entry_keeps_its_queue_type_and_conversions_have_no_legacy_table() -> None:
    row = {"id": "q2", "queue_type": "unsigned_users", "status": "pending", "callback_id": None}
    assert SHAPE.change("call_queue", RowChange.insert(row)) == RowChange.insert(
        {"id": "q2", "queue_type": "unsigned_users", "status": "pending", "scheduled_for": None}
    )
    assert SHAPE.change("conversions", RowChange.insert({"id": "c1"})) is None


def test_without_a_legacy_schedule_column_only_the_queue_type_says_callback() -> None:
    shape = legacy_shape([("call_queue", ["id", "queue_type", "updated_at"])])
    change = RowChange.update("q1", {"callback_id": "c", "callback_scheduled_for": WHEN, "updated_at": WHEN})
    assert shape.schedule_column is None
    assert shape.change("call_queue", change) == RowChange.update("q1", {"queue_type": "callback", "updated_at": WHEN})
