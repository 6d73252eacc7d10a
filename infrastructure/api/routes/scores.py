"""Scores: read one, reset one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from domain import commands
from domain.commands import Kind
from domain.errors import UnknownUser
from infrastructure.api.command_routes import add_command_route
from infrastructure.api.deps import AUTHENTICATED, Reads
from infrastructure.api.problems import documented
from infrastructure.api.responses import ScoreRow
from infrastructure.api.schemas import PATH_TYPES

router = APIRouter(prefix="/api/scores")
add_command_route(router, "/{user_id}/reset", commands.ResetScore, name="reset_score")


@router.get(
    "/{user_id}",
    response_model=ScoreRow,
    dependencies=AUTHENTICATED,
    responses=documented(401, 404, 422, 503),
    tags=["queries"],
    operation_id="get_score",
)
def get_score(user_id: PATH_TYPES[Kind.USER_ID], model: Reads) -> dict[str, Any]:  # type: ignore[valid-type]
    """A user's score row."""
    row = model.score(user_id)
    if row is None:
        raise UnknownUser(f"no score row for user {user_id}")
    return row
