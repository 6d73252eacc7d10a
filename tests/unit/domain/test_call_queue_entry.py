from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.call_queue_entry import CallQueueEntry
from domain.errors import ConvTrackError, EntryClosed, InvalidTransition, InvalidValue

T = datetime(2026, 1, 2, 3, 4, 5, 678000)


def entry() -> CallQueueEntry:
    return CallQueueEntry.enqueue(row_id="e1", user_id=9, queue_type="unsigned_users", priority_score=3, reason="r")


def test_callback_is_no_longer_a_queue_type_for_new_entries() -> None:
    with pytest.raises(InvalidValue) as error:
        CallQueueEntry.enqueue(row_id="e", user_id=1, queue_type="callback")
    assert error.value.field == "queue_type"


def test_a_seeded_callback_becomes_an_outstanding_request_carrying_its_callback() -> None:
    row = {
        "id": "c9",
        "user_id": 1,
        "queue_type": "callback",
        "priority_score": 0,
        "status": "pending",
        "assigned_to_agent_id": None,
        "assigned_at": None,
        "queue_reason": "after 6pm",
        "created_at": T,
        "updated_at": T,
    }
    seeded = CallQueueEntry.seed(row, callback_scheduled_for=T)
    assert seeded.queue_type == "outstanding_requests"
    assert (
        seeded.row["callback_id"],
        seeded.row["callback_reason"],
        seeded.row["callback_scheduled_for"],
    ) == ("legacy-callback-c9", "after 6pm", T)
    event = seeded.collect_events()[0]
    assert event.row["queue_type"] == "callback", "the seed event keeps the original queue type"


def test_closed_entries_refuse_every_change() -> None:
    done = entry()
    done.complete("converted")
    for action in (
        lambda: done.assign(1),
        lambda: done.cancel(),
        lambda: done.complete(),
        lambda: done.schedule_callback(callback_id="x", scheduled_for=T),
    ):
        with pytest.raises(EntryClosed, match="completed"):
            action()


def test_clearing_a_callback_that_does_not_exist_is_refused() -> None:
    with pytest.raises(InvalidTransition):
        entry().clear_callback()


def test_a_callback_before_the_year_1000_does_not_fit_datetime3() -> None:
    with pytest.raises(InvalidValue) as error:
        entry().schedule_callback(callback_id="x", scheduled_for=datetime(999, 1, 1))
    assert error.value.field == "scheduled_for"


ACTIONS = st.lists(st.sampled_from(["assign", "complete", "cancel", "callback", "clear"]), max_size=12)


@given(ACTIONS)
def test_the_state_machine_keeps_its_rules_and_replaying_events_rebuilds_the_same_state(
    actions: list[str],
) -> None:
    subject = entry()
    for action in actions:
        was_open = subject.is_open
        try:
            {
                "assign": lambda: subject.assign(2),
                "complete": lambda: subject.complete(),
                "cancel": lambda: subject.cancel(),
                "callback": lambda: subject.schedule_callback(callback_id="cb", scheduled_for=T),
                "clear": lambda: subject.clear_callback(),
            }[action]()
        except ConvTrackError:
            assert not was_open or action == "clear"
        else:
            assert was_open, f"{action} changed a closed entry"
        assert subject.status in {"pending", "assigned", "completed", "cancelled"}
    replayed = None
    for event in subject.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None and replayed.row == subject.row
