"""A user's history: every event that touched the user, from the event store, paginated."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from domain.commands import Kind
from infrastructure.api.deps import Limit, Offset, query, services
from infrastructure.api.responses import HistoryPage
from infrastructure.api.schemas import PATH_TYPES
from infrastructure.history import history_page, user_history

router = APIRouter(prefix="/api/users")


@query(router, "/{user_id}/history", HistoryPage, "get_user_history", finds=True)
def get_user_history(
    request: Request,
    user_id: PATH_TYPES[Kind.USER_ID],  # type: ignore[valid-type]
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Every event that touched the user, oldest first: the seed from the legacy row, call
    attempts, queue changes, callbacks, conversions and reversals, each with its time, actor,
    request id, idempotency key and what it changed. Read from the events, in every phase."""
    return history_page(user_history(services(request).tracker, user_id), user_id, limit, offset)
