"""The call queue: enqueue, work an entry, callbacks; the old app's getQueue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from domain import commands
from domain.values import BIGINT_MAX, BIGINT_MIN
from infrastructure.api.as_of import queue_entries_as_of
from infrastructure.api.command_routes import add_command_route
from infrastructure.api.deps import AUTHENTICATED, Limit, Offset, Reads
from infrastructure.api.errors import ERRORS
from infrastructure.api.schemas import MOMENT, QUEUE_TYPE_PATTERN

router = APIRouter(prefix="/api/queue")
add_command_route(router, "", commands.Enqueue, name="enqueue")
add_command_route(router, "/{entry_id}/assign", commands.Assign, name="assign")
add_command_route(router, "/{entry_id}/complete", commands.Complete, name="complete")
add_command_route(router, "/{entry_id}/cancel", commands.Cancel, name="cancel")
add_command_route(router, "/{entry_id}/callback", commands.ScheduleCallback, name="callback")
add_command_route(router, "/{entry_id}/clear-callback", commands.ClearCallback, name="clear_callback")


@router.get("/getQueue", dependencies=AUTHENTICATED, responses=ERRORS, tags=["queries"])
def get_queue(
    request: Request,
    model: Reads,
    queueType: Annotated[str, Query(pattern=QUEUE_TYPE_PATTERN)],  # noqa: N803 (the old app's spelling)
    limit: Limit = 100,
    offset: Offset = 0,
    user_id: Annotated[int | None, Query(ge=BIGINT_MIN, le=BIGINT_MAX)] = None,
    as_of: Annotated[MOMENT | None, Query()] = None,
) -> dict[str, Any]:
    """Open entries of a queue, highest priority first (compatible with the old app's endpoint).
    With ``user_id``: that user's open entries of the queue, computed from the events, as they
    stand now or, with ``as_of``, as they stood then."""
    if (entries := queue_entries_as_of(request, queueType, user_id, as_of, limit, offset)) is not None:
        return {"queueType": queueType, "entries": entries}
    return {"queueType": queueType, "entries": model.queue(queueType, limit, offset)}
