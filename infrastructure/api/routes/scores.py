"""Scores: read one, reset one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from domain import commands
from domain.commands import Kind
from domain.errors import UnknownUser
from infrastructure.api.as_of import score_row_as_of
from infrastructure.api.command_routes import add_command_route
from infrastructure.api.deps import Reads, query
from infrastructure.api.responses import ScoreRow
from infrastructure.api.schemas import MOMENT, PATH_TYPES

router = APIRouter(prefix="/api/scores")
add_command_route(router, "/{user_id}/reset", commands.ResetScore, name="reset_score")


@query(router, "/{user_id}", ScoreRow, "get_score", finds=True)
def get_score(
    request: Request,
    user_id: PATH_TYPES[Kind.USER_ID],  # type: ignore[valid-type]
    model: Reads,
    as_of: Annotated[MOMENT | None, Query(description="RFC 3339: the row as it stood then, from the events")] = None,
) -> dict[str, Any]:
    """A user's score row (``as_of``: as it stood then, computed from the events)."""
    if as_of is not None:
        return score_row_as_of(request, user_id, as_of)
    row = model.score(user_id)
    if row is None:
        raise UnknownUser(f"no score row for user {user_id}")
    return row
