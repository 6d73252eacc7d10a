"""A user's history: every event that touched the user, from the event store, paginated."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from domain.commands import Kind
from infrastructure.api.deps import AUTHENTICATED, Limit, Offset, services
from infrastructure.api.errors import ERRORS
from infrastructure.api.schemas import PATH_TYPES
from infrastructure.history import history_page, user_history

router = APIRouter(prefix="/api/users")


class RowChangeOut(BaseModel):
    kind: Literal["insert", "update", "delete", "none"]
    values: dict[str, Any] = Field(description="The columns the event sets (insert: the whole row)")


class HistoryItem(BaseModel):
    position: int = Field(description="The event's position in the store: the order recorded")
    at: str = Field(
        description="When it was recorded: RFC 3339 UTC with milliseconds", examples=["2026-12-01T09:30:00.250Z"]
    )
    aggregate: str = Field(examples=["UserCallScore"])
    event: str = Field(examples=["CallAttemptRecorded"])
    row_id: str
    actor: str | None = Field(description="API key name, operator user@host, or bootstrap:<operator>")
    request_id: str | None
    idempotency_key: str | None
    change: RowChangeOut
    data: dict[str, Any] = Field(description="The event's own fields (a seed's `row` is the legacy row as read)")


class HistoryPage(BaseModel):
    user_id: int
    items: list[HistoryItem]
    limit: int
    offset: int
    next_offset: int | None
    has_more: bool


@router.get(
    "/{user_id}/history", response_model=HistoryPage, dependencies=AUTHENTICATED, responses=ERRORS, tags=["queries"]
)
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
