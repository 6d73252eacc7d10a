"""How the API answers errors: the domain's one hierarchy maps to its status codes; bad
requests, missing keys and an unreachable store each have one body shape."""

from __future__ import annotations

import logging

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from domain.errors import ConvTrackError
from infrastructure.api import schemas

log = logging.getLogger("convtrack.api")

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": schemas.ErrorResponse} for status in (401, 404, 409, 413, 422, 503)
}


class Unauthorized(Exception):
    pass


class NotYetProjected(ConvTrackError):
    http_status = 503


class QueriesUnavailable(ConvTrackError):
    http_status = 503


async def unauthorized(_request: Request, _error: Exception) -> JSONResponse:
    return JSONResponse(
        {"error": "Unauthorized", "detail": "missing or unknown API key (send X-API-Key)", "field": "X-API-Key"},
        status_code=401,
        headers={"WWW-Authenticate": "ApiKey"},
    )


async def domain_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ConvTrackError)
    return JSONResponse(
        {"error": type(error).__name__, "detail": str(error), "field": getattr(error, "field", None)},
        status_code=error.http_status,
    )


async def invalid_request(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {
            "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "body",
            "reason": str(e.get("msg", "invalid")),
        }
        for e in error.errors()
    ]
    first = problems[0] if problems else {"field": "body", "reason": "invalid"}
    return JSONResponse(
        {
            "error": "InvalidRequest",
            "detail": f"{first['field']}: {first['reason']}",
            "field": first["field"],
            "problems": problems[:20],
        },
        status_code=422,
    )


async def store_unavailable(_request: Request, error: Exception) -> JSONResponse:
    log.error("store error: %s", type(error).__name__)
    return JSONResponse(
        {"error": "StoreUnavailable", "detail": "the event store did not answer; retry", "field": None},
        status_code=503,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Unauthorized, unauthorized)
    app.add_exception_handler(ConvTrackError, domain_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(PersistenceError, store_unavailable)  # the same, raised through the event store
    app.add_exception_handler(SQLAlchemyError, store_unavailable)
