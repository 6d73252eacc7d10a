from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import AlreadyConverted, InvalidValue, UserInactive
from domain.rows import RowChange
from domain.user_call_score import UserCallScore, current_queue_type
from domain.values import INT_MAX, INT_MIN, ScoringRule

T = datetime(2025, 5, 6, 7, 8, 9, 123456)


def seeded(score: int = 0) -> UserCallScore:
    row = {
        "id": "s1",
        "user_id": 1,
        "current_score": score,
        "total_attempts": 0,
        "last_call_outcome": None,
        "last_call_at": None,
        "created_at": datetime(2024, 1, 1, 0, 0, 0, 5000),
        "updated_at": datetime(2024, 1, 1),
    }
    return UserCallScore.seed(
        row, current_queue_type=None, last_queue_check=T, contributing_agents=[], queue_entry_ids=[]
    )


def test_seeding_sets_reset_date_to_created_at_and_queue_check_to_the_bootstrap_time_in_ms() -> None:
    score = seeded()
    assert score.row["last_reset_date"] == datetime(2024, 1, 1, 0, 0, 0, 5000)
    assert score.row["last_queue_check"] == datetime(2025, 5, 6, 7, 8, 9, 123000)
    assert score.row["is_active"] is True


def test_a_call_attempt_applies_the_scoring_rule_and_records_the_agent_once() -> None:
    score = seeded(10)
    rule = ScoringRule(deltas={"answered": 5}, default_delta=-1)
    score.record_call_attempt(agent_id=4, outcome="answered", called_at=T, rule=rule)
    score.record_call_attempt(agent_id=4, outcome="weird", called_at=T, rule=rule)
    assert score.current_score == 14 and score.total_attempts == 2
    assert score.contributing_agents == [4]
    assert score.row["last_call_outcome"] == "weird"


def test_scores_saturate_at_the_integer_limits() -> None:
    top = seeded(INT_MAX)
    top.adjust_score(10)
    assert top.current_score == INT_MAX
    bottom = seeded(INT_MIN)
    bottom.adjust_score(-10)
    assert bottom.current_score == INT_MIN


def test_a_converted_user_cannot_convert_again_until_reversed() -> None:
    score = seeded()
    score.deactivate_for_conversion("c1")
    assert score.row["is_active"] is False and score.row["current_queue_type"] is None
    with pytest.raises(AlreadyConverted, match="reverse it"):
        score.deactivate_for_conversion("c2")
    with pytest.raises(UserInactive):
        score.reactivate("other", "wrong conversion")
    score.reactivate("c1", "mistake")
    score.deactivate_for_conversion("c2")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"agent_id": 2**31, "outcome": "x"}, "agent_id"),
        ({"agent_id": 1, "outcome": ""}, "outcome"),
        ({"agent_id": 1, "outcome": "x" * 192}, "outcome"),
        ({"agent_id": True, "outcome": "x"}, "agent_id"),
    ],
)
def test_invalid_call_attempts_are_refused_before_anything_changes(kwargs: dict[str, object], field: str) -> None:
    score = seeded()
    with pytest.raises(InvalidValue) as error:
        score.record_call_attempt(called_at=T, rule=ScoringRule(), **kwargs)  # type: ignore[arg-type]
    assert error.value.field == field
    assert score.version == 1 and not score.pending_events[1:]


def test_the_first_call_attempt_of_a_registered_user_opens_the_row() -> None:
    score = UserCallScore.register(5, "r5", current_queue_type="unsigned_users")
    assert score.collect_events()[0].row_change().kind == "none"
    score.record_call_attempt(agent_id=1, outcome="answered", called_at=T, rule=ScoringRule())
    change = score.collect_events()[0].row_change()
    assert change.kind == "insert" and change.values["current_score"] == 5 and change.values["user_id"] == 5


@given(st.integers(INT_MIN, INT_MAX), st.lists(st.integers(-(2**31), 2**31 - 1), max_size=30))
def test_the_score_is_the_saturated_running_sum_and_every_row_change_says_so(start: int, deltas: list[int]) -> None:
    score = seeded(start)
    score.collect_events()
    expected = start
    for delta in deltas:
        score.adjust_score(delta)
        expected = max(INT_MIN, min(INT_MAX, expected + delta))
        [event] = score.collect_events()
        change: RowChange = event.row_change()
        assert change == RowChange.update("s1", {"current_score": expected, "updated_at": change.values["updated_at"]})
        assert score.current_score == expected


def test_the_current_queue_type_is_the_first_pending_entry_by_priority_then_age_then_id() -> None:
    def entry(row_id: str, priority: int, created: datetime, queue_type: str, status: str = "pending") -> dict:
        return {
            "id": row_id,
            "priority_score": priority,
            "created_at": created,
            "queue_type": queue_type,
            "status": status,
        }

    older, newer = datetime(2024, 1, 1), datetime(2024, 1, 2)
    assert current_queue_type([]) is None
    assert current_queue_type([entry("a", 99, older, "unsigned_users", status="completed")]) is None
    assert current_queue_type([entry("a", 1, older, "unsigned_users"), entry("b", 2, newer, "callback")]) == (
        "outstanding_requests"  # highest priority, after the callback conversion
    )
    assert current_queue_type([entry("a", 5, newer, "unsigned_users"), entry("b", 5, older, "x")]) == "x"
    assert current_queue_type([entry("é", 5, older, "late"), entry("z", 5, older, "early")]) == "early"  # code point
