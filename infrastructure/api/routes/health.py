"""Liveness and readiness (no API key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from infrastructure.api.deps import Services, services
from infrastructure.api.problems import MEDIA_TYPE, problem
from infrastructure.api.responses import Health

router = APIRouter(tags=["health"])


@router.get("/health", response_model=Health, operation_id="health")
def health(request: Request) -> JSONResponse:
    """Liveness plus facts: is the store reachable, how far behind are the projections."""
    return JSONResponse(status(services(request)))


@router.get(
    "/ready",
    response_model=Health,
    operation_id="ready",
    responses={
        503: {
            "description": "Not ready: a problem naming why, with the facts of /health",
            "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/NotReady"}}},
        }
    },
)
def ready(request: Request) -> JSONResponse:
    """200 when the store is reachable, the tracker's tables are live (phase cut_over) and
    the live projection is not stuck at an event it cannot apply; 503 naming why not."""
    current = status(services(request))
    if current["store"] != "reachable":
        why = f"the event store did not answer ({current['detail']})"
    elif current["queries"] != "available":
        why = current["queries"]
    elif current["stuck"] is not None:
        why = current["stuck"]["detail"]
    else:
        return JSONResponse(current)
    facts = {name: value for name, value in current.items() if name != "detail"}
    return problem(request.scope, 503, why, kind="NotReady", **facts)


def status(current: Services) -> dict[str, Any]:
    model = current.read_model  # the phase watch may drop it meanwhile
    try:
        with current.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        head = current.tracker.head_position()
        position, stuck = model.progress() if model else (None, None)
        return {
            "store": "reachable",
            "phase": str(current.phase),
            "head": head,
            "projected": position,
            "lag": None if position is None else max(0, head - position),
            "queries": "available" if model else f"unavailable (phase {current.phase}: the live tables are legacy)",
            "stuck": None if stuck is None else {"position": stuck[0], "detail": stuck[1]},
            "detail": None,
        }
    except SQLAlchemyError as error:
        return {
            "store": "unreachable",
            "phase": None,
            "head": None,
            "projected": None,
            "lag": None,
            "queries": "unavailable",
            "stuck": None,
            "detail": type(error).__name__,
        }
