"""Scores: read one, reset one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from domain import commands
from domain.commands import Kind
from domain.errors import UnknownUser
from infrastructure.api.command_routes import add_command_route
from infrastructure.api.deps import Reads, query
from infrastructure.api.responses import ScoreRow
from infrastructure.api.schemas import PATH_TYPES

router = APIRouter(prefix="/api/scores")
add_command_route(router, "/{user_id}/reset", commands.ResetScore, name="reset_score")


@query(router, "/{user_id}", ScoreRow, "get_score", finds=True)
def get_score(user_id: PATH_TYPES[Kind.USER_ID], model: Reads) -> dict[str, Any]:  # type: ignore[valid-type]
    """A user's score row."""
    row = model.score(user_id)
    if row is None:
        raise UnknownUser(f"no score row for user {user_id}")
    return row
