"""Deterministic aggregate identity.

Aggregate ids derive from the row's primary key, so a re-run or a resume of the
bootstrap can never create a second aggregate for the same legacy row, and the
service finds a user's score from the user id alone.
"""

import uuid

NAMESPACE = uuid.UUID("6f1c9d1e-3b52-4c5e-9a59-2f1d4a7c0b11")


def score_id(user_id: int) -> uuid.UUID:
    """One UserCallScore per user: ``user_id`` is unique in ``user_call_scores``."""
    return uuid.uuid5(NAMESPACE, f"/user_call_scores/user_id/{user_id}")


def queue_entry_id(row_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"/call_queue/{row_id}")


def conversion_id(row_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"/conversions/{row_id}")


def new_row_id() -> str:
    """A fresh primary key for a row the tracker creates (fits VARCHAR(191))."""
    return uuid.uuid4().hex
