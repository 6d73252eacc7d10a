"""Fills an event store quickly with realistic events (seeded scores and queue entries,
call attempts, conversions), for the benchmarks."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from eventsourcing.domain import Aggregate

from domain.call_queue_entry import CallQueueEntry
from domain.conversion import Conversion
from domain.user_call_score import UserCallScore
from domain.values import ScoringRule
from infrastructure.application import ConversionTracker
from infrastructure.database import write_transaction

RULE = ScoringRule()


def fill_store(tracker: ConversionTracker, events: int, *, seed: int = 1, batch: int = 5000) -> int:
    """Append about ``events`` events; returns how many were written."""
    rng = random.Random(seed)
    base = datetime(2024, 1, 1, 8, 0, 0, 123000)
    pending: list[Aggregate] = []
    earlier: list[UserCallScore] = []  # users saved in earlier batches, for later activity
    written = 0
    user = 0
    while written < events:
        user += 1
        created = base + timedelta(seconds=user)
        row = {
            "id": f"ucs_{user:09d}",
            "user_id": user,
            "current_score": rng.randint(-50, 200),
            "total_attempts": rng.randint(0, 20),
            "last_call_outcome": "answered — ü",
            "last_call_at": created,
            "created_at": created,
            "updated_at": created,
        }
        entries = [
            CallQueueEntry.seed(
                {
                    "id": f"cq_{user:09d}_{k}",
                    "user_id": user,
                    "queue_type": rng.choice(["unsigned_users", "callback"]),
                    "priority_score": rng.randint(0, 100),
                    "status": "pending",
                    "assigned_to_agent_id": None,
                    "assigned_at": None,
                    "queue_reason": "needs \"ID\"\t'x'",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            for k in range(1 + (rng.random() < 0.4))
        ]
        score = UserCallScore.seed(
            row,
            current_queue_type="unsigned_users",
            last_queue_check=created,
            contributing_agents=[1],
            queue_entry_ids=[e.row_id for e in entries],
        )
        for _ in range(rng.randint(0, 3)):
            score.record_call_attempt(
                agent_id=rng.randint(1, 9),
                outcome=rng.choice(["answered", "busy"]),
                called_at=created,
                rule=RULE,
            )
        pending.extend(entries)
        pending.append(score)
        if rng.random() < 0.2:
            conversion = Conversion.record(
                row_id=f"cv_{user:09d}",
                score=score,
                user_id=user,
                conversion_type="signed",
                claim_value="1234.56",
                now=created,
            )
            score.deactivate_for_conversion(conversion.row_id)
            pending.append(conversion)
        if earlier and rng.random() < 0.5:
            # a later call to a user saved long ago: the projection updates an existing row
            again = earlier[rng.randrange(len(earlier))]
            again.record_call_attempt(agent_id=rng.randint(1, 9), outcome="busy", called_at=created, rule=RULE)
            pending.append(again)  # listed twice in a batch is harmless: its events are collected once
        if len(earlier) < 20_000 and rng.random() < 0.1 and conversion_free(score):
            earlier.append(score)
        if sum(len(a.pending_events) for a in pending) >= batch:
            written += _flush(tracker, pending)
    written += _flush(tracker, pending)
    return written


def conversion_free(score: UserCallScore) -> bool:
    return score.active_conversion_id is None


def _flush(tracker: ConversionTracker, aggregates: list[Aggregate]) -> int:
    events = [e for a in aggregates for e in a.collect_events()]
    aggregates.clear()
    if not events:
        return 0
    stored = [tracker.mapper.to_stored_event(e) for e in events]
    with write_transaction(tracker.sql_recorder.engine) as conn:
        tracker.sql_recorder.insert_events_in(conn, stored)
    return len(stored)
