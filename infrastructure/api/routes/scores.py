"""Scores: read one, reset one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from domain import commands
from domain.commands import Kind
from domain.errors import UnknownUser
from domain.values import check_datetime
from infrastructure.api.command_routes import add_command_route
from infrastructure.api.deps import AUTHENTICATED, Reads, services
from infrastructure.api.errors import ERRORS
from infrastructure.api.read_model import plain
from infrastructure.api.schemas import MOMENT, PATH_TYPES
from infrastructure.history import score_as_of

router = APIRouter(prefix="/api/scores")
add_command_route(router, "/{user_id}/reset", commands.ResetScore, name="reset_score")


@router.get("/{user_id}", dependencies=AUTHENTICATED, responses=ERRORS, tags=["queries"])
def get_score(
    request: Request,
    user_id: PATH_TYPES[Kind.USER_ID],  # type: ignore[valid-type]
    model: Reads,
    as_of: Annotated[MOMENT | None, Query()] = None,
) -> dict[str, Any]:
    """A user's score row (``as_of``: as it stood then, computed from the events)."""
    if as_of is not None:
        return plain(score_as_of(services(request).tracker, user_id, check_datetime("as_of", as_of)))
    row = model.score(user_id)
    if row is None:
        raise UnknownUser(f"no score row for user {user_id}")
    return row
