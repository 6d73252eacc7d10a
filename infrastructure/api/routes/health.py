"""Liveness and readiness (no API key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from infrastructure.api.deps import Services, services

router = APIRouter(tags=["health"])


@router.get("/health")
def health(request: Request) -> JSONResponse:
    """Liveness plus facts: is the store reachable, how far behind are the projections."""
    return JSONResponse(status(services(request)))


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    """200 when the store is reachable and the live projection is being followed."""
    current = status(services(request))
    ok = current["store"] == "reachable" and current["queries"] == "available"
    return JSONResponse(current, status_code=200 if ok else 503)


def status(current: Services) -> dict[str, Any]:
    try:
        with current.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        head = current.tracker.head_position()
        position = current.read_model.position() if current.read_model else None
        return {
            "store": "reachable",
            "head": head,
            "projected": position,
            "lag": None if position is None else max(0, head - position),
            "queries": "available" if current.read_model else "unavailable (before cutover)",
        }
    except SQLAlchemyError as error:
        return {"store": "unreachable", "detail": type(error).__name__, "queries": "unavailable"}
