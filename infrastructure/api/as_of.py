"""The ``as_of`` queries: a user's score row and open queue entries as they stood at a past
moment, replayed from the events (``infrastructure/history.py``), in the read model's shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request

from domain.errors import InvalidValue
from domain.values import check_datetime, utc_now
from infrastructure.api.deps import services
from infrastructure.api.read_model import plain
from infrastructure.history import entries_as_of, score_as_of
from infrastructure.pages import page


def score_row_as_of(request: Request, user_id: int, as_of: datetime) -> dict[str, Any]:
    return plain(score_as_of(services(request).tracker, user_id, check_datetime("as_of", as_of)))


def queue_entries_as_of(
    request: Request, queue_type: str, user_id: int | None, as_of: datetime | None, limit: int, offset: int
) -> dict[str, Any] | None:
    """One page of the user's open entries of ``queue_type`` at ``as_of`` (now, without it),
    from the events; None when neither is given (the projected queue answers)."""
    if as_of is None and user_id is None:
        return None
    if user_id is None:
        raise InvalidValue("user_id", "as_of needs user_id: a past queue is computed from one user's events")
    moment = utc_now() if as_of is None else check_datetime("as_of", as_of)
    rows = entries_as_of(services(request).tracker, user_id, moment, queue_type)
    return page([plain(row) for row in rows[offset : offset + limit + 1]], limit, offset)
