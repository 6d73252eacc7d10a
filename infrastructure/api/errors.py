"""How the API answers errors: every one is a problem (``problems.py``). The domain's one
hierarchy maps to its status codes; bad requests name each invalid field in words; the
framework's own errors (unknown route, wrong method, undecodable or oversized body) and an
unreachable store get the same shape."""

from __future__ import annotations

import logging
from typing import Any

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from domain.errors import ConvTrackError, InvalidValue
from infrastructure.api import schemas
from infrastructure.api.limits import BodyTooLarge
from infrastructure.api.problems import API_KEY_HEADER, KEY_FIELD, UNAUTHORIZED, ProblemResponse, problem

log = logging.getLogger("convtrack.api")
MAX_LISTED = 20

# pydantic's error types, said for a person (the rest keep pydantic's message)
PLAIN_WORDS = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request",
    "int_from_float": "must be a whole number",
    "literal_error": "must be one of {expected}",
}


class Unauthorized(Exception):
    pass


class NotYetProjected(ConvTrackError):
    http_status = 503


class QueriesUnavailable(ConvTrackError):
    http_status = 503


def _location(request: Request, field: str) -> str:
    if field in request.path_params:
        return "path"
    return "query" if field in request.query_params or request.method == "GET" else "body"


async def unauthorized(request: Request, _error: Exception) -> ProblemResponse:
    headers = {"WWW-Authenticate": f'Bearer, ApiKey header="{API_KEY_HEADER}"'}
    return problem(request.scope, 401, UNAUTHORIZED, headers=headers, kind="Unauthorized", errors=[KEY_FIELD])


async def domain_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, ConvTrackError)
    if isinstance(error, InvalidValue):  # the domain's rule: the same kind as the schema's (one type for bad input)
        field = {"field": error.field, "location": _location(request, error.field), "detail": error.reason}
        return problem(request.scope, 422, str(error), kind="InvalidRequest", errors=[field])
    return problem(request.scope, error.http_status, str(error), kind=type(error).__name__)


def _field(loc: tuple[Any, ...]) -> tuple[str, str]:
    """(field, location) of a pydantic error: ``("body", "a", 0)`` is ``a[0]`` in the body;
    the body itself (missing, not JSON) is ``body``."""
    location, *path = loc or ("body",)
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    if location == "body" and (not path or isinstance(path[0], int)):  # malformed JSON's loc is its offset
        name = "body"
    return name or str(location), str(location) if location in {"body", "query", "path", "header"} else "body"


def _words(error: dict[str, Any]) -> str:
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "json_invalid":
        return f"is not valid JSON ({ctx.get('error', 'malformed')})"
    if kind == "string_pattern_mismatch":
        return schemas.PATTERN_WORDS.get(str(ctx.get("pattern")), "does not have the expected form")
    if kind in PLAIN_WORDS:
        return PLAIN_WORDS[kind].format(expected=str(ctx.get("expected", "")).replace("'", ""))
    return str(error.get("msg", "is invalid")).removeprefix("Value error, ")


def invalid_fields(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    fields = []
    for error in errors[:MAX_LISTED]:
        name, location = _field(tuple(error.get("loc", ())))
        fields.append({"field": name, "location": location, "detail": _words(error)})
    return fields or [{"field": "body", "location": "body", "detail": "is invalid"}]


async def invalid_request(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, RequestValidationError)
    fields = invalid_fields(list(error.errors()))
    detail = f"{fields[0]['field']}: {fields[0]['detail']}"
    if len(fields) > 1:
        detail += f" (and {len(fields) - 1} more)"
    return problem(request.scope, 422, detail, kind="InvalidRequest", errors=fields)


async def http_error(request: Request, error: Exception) -> ProblemResponse:
    """The framework's own errors: no route (404), wrong method (405), an undecodable body
    (FastAPI's 400, caused by a decoding error: 422), a body over the limit (413)."""
    assert isinstance(error, HTTPException)
    scope = request.scope
    if isinstance(error, BodyTooLarge):
        return problem(scope, 413, error.detail, kind="BodyTooLarge")
    if error.status_code == 400 and isinstance(error.__cause__, ValueError):
        field = {"field": "body", "location": "body", "detail": "is not UTF-8 encoded JSON"}
        return problem(scope, 422, "body: is not UTF-8 encoded JSON", kind="InvalidRequest", errors=[field])
    detail = str(error.detail)
    if error.status_code == 404:
        detail = f"nothing is at {request.method} {request.url.path}; see /docs for the API's paths"
    elif error.status_code == 405:
        allowed = ", ".join(_allowed_methods(request))
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allowed}"
        return problem(scope, 405, detail, headers={"Allow": allowed})
    return problem(scope, error.status_code, detail, headers=error.headers)


METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette's Allow names the first route's only)."""
    scope = {"type": "http", "path": request.scope["path"], "root_path": request.scope.get("root_path", "")}
    return [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] is Match.FULL for route in request.app.routes)
    ]


async def store_unavailable(request: Request, error: Exception) -> ProblemResponse:
    log.error("store error: %s", type(error).__name__)
    detail = "the event store did not answer; retry (with the same Idempotency-Key on a write)"
    return problem(request.scope, 503, detail, kind="StoreUnavailable")


async def unexpected(request: Request, error: Exception) -> ProblemResponse:
    log.exception("request %s failed", getattr(request.state, "request_id", "?"), exc_info=error)
    detail = "an unexpected error; the server's log names this request id"
    return problem(request.scope, 500, detail)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(Unauthorized, unauthorized)
    app.add_exception_handler(ConvTrackError, domain_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(PersistenceError, store_unavailable)  # the same, raised through the event store
    app.add_exception_handler(SQLAlchemyError, store_unavailable)
    app.add_exception_handler(Exception, unexpected)
