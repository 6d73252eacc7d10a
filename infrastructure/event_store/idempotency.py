"""A command's idempotency record: its first result, stored with its events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IdempotencyRecord:
    """The first result of a command sent with an idempotency key."""

    key: str
    command: str
    fingerprint: str
    result: dict[str, Any]
    position: int | None = None
