"""The call queue: enqueue, work an entry, callbacks; the old app's getQueue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from domain import commands
from infrastructure.api.command_routes import add_command_route
from infrastructure.api.deps import AUTHENTICATED, Limit, Offset, Reads
from infrastructure.api.errors import ERRORS
from infrastructure.api.schemas import QUEUE_TYPE_PATTERN

router = APIRouter(prefix="/api/queue")
add_command_route(router, "", commands.Enqueue, name="enqueue")
add_command_route(router, "/{entry_id}/assign", commands.Assign, name="assign")
add_command_route(router, "/{entry_id}/complete", commands.Complete, name="complete")
add_command_route(router, "/{entry_id}/cancel", commands.Cancel, name="cancel")
add_command_route(router, "/{entry_id}/callback", commands.ScheduleCallback, name="callback")
add_command_route(router, "/{entry_id}/clear-callback", commands.ClearCallback, name="clear_callback")


@router.get("/getQueue", dependencies=AUTHENTICATED, responses=ERRORS, tags=["queries"])
def get_queue(
    model: Reads,
    queueType: Annotated[str, Query(pattern=QUEUE_TYPE_PATTERN)],  # noqa: N803 (the old app's spelling)
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Open entries of a queue, highest priority first (compatible with the old app's endpoint)."""
    return {"queueType": queueType, "entries": model.queue(queueType, limit, offset)}
