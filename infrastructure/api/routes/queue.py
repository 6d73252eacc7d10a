"""The call queue: enqueue, work an entry, callbacks; list a queue (also as the old app's getQueue)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from domain import commands
from domain.errors import InvalidValue
from domain.values import BIGINT_MAX, BIGINT_MIN
from infrastructure.api.as_of import queue_entries_as_of
from infrastructure.api.command_routes import add_command_route
from infrastructure.api.deps import Limit, Offset, Reads, query
from infrastructure.api.responses import QueuePage
from infrastructure.api.schemas import MOMENT, QUEUE_TYPE

router = APIRouter(prefix="/api/queue")
add_command_route(router, "", commands.Enqueue, name="enqueue", finds=False)
add_command_route(router, "/{entry_id}/assign", commands.Assign, name="assign")
add_command_route(router, "/{entry_id}/complete", commands.Complete, name="complete")
add_command_route(router, "/{entry_id}/cancel", commands.Cancel, name="cancel")
add_command_route(router, "/{entry_id}/callback", commands.ScheduleCallback, name="callback")
add_command_route(router, "/{entry_id}/clear-callback", commands.ClearCallback, name="clear_callback")

QueueTypeQuery = Annotated[QUEUE_TYPE | None, Query()]
AppSpelling = Annotated[
    QUEUE_TYPE | None,
    Query(
        alias="queueType", description="The old app's spelling of queue_type (accepted, deprecated)", deprecated=True
    ),
]


def chosen_queue_type(queue_type: str | None, app_spelling: str | None) -> str:
    if queue_type is None and app_spelling is None:
        raise InvalidValue("queue_type", "is required")
    if queue_type is not None and app_spelling is not None and queue_type != app_spelling:
        raise InvalidValue("queueType", f"names another queue than queue_type ({queue_type})")
    return str(queue_type or app_spelling)


@query(router, "", QueuePage, "list_queue", finds=True)  # 404: user_id names no user the tracker knows
def list_queue(
    request: Request,
    model: Reads,
    queue_type: QueueTypeQuery = None,
    app_spelling: AppSpelling = None,
    limit: Limit = 100,
    offset: Offset = 0,
    user_id: Annotated[int | None, Query(ge=BIGINT_MIN, le=BIGINT_MAX)] = None,
    as_of: Annotated[MOMENT | None, Query()] = None,
) -> dict[str, Any]:
    """Open entries of a queue, highest priority first; one page. With ``user_id``: that
    user's open entries of the queue, computed from the events, as they stand now or, with
    ``as_of``, as they stood then."""
    chosen = chosen_queue_type(queue_type, app_spelling)
    if (entries := queue_entries_as_of(request, chosen, user_id, as_of, limit, offset)) is not None:
        return {"queue_type": chosen, **entries}
    return model.queue(chosen, limit, offset)


query(
    router,
    "/getQueue",
    QueuePage,
    "get_queue",
    finds=True,
    deprecated=True,
    description="The old app's path for `GET /api/queue` (the same parameters and answer).",
)(list_queue)
