"""The one error shape: RFC 9457 problem details (``application/problem+json``).

Every error the API answers, its own and the framework's (unknown route, wrong method,
undecodable or oversized body), is a :class:`Problem`: ``type`` (a URN naming the kind,
``about:blank`` for a plain HTTP error), ``title``, ``status``, ``detail``, ``instance``
(the request's path), ``request_id`` (as echoed in ``X-Request-ID``) and ``errors``, the
invalid fields (empty when the problem is not about a field)."""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import quote

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from infrastructure.api.request_id import request_id_of

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:convtrack:problem:"
API_KEY_HEADER = "X-API-Key"
UNAUTHORIZED = "missing, unknown or revoked API key: send X-API-Key: <key> or Authorization: Bearer <key>"
KEY_FIELD = {"field": API_KEY_HEADER, "location": "header", "detail": "missing, unknown or revoked"}


class InvalidField(BaseModel):
    field: str = Field(
        description="The field as the request names it: a body member, a query or path parameter, a header"
    )
    location: Literal["body", "query", "path", "header"]
    detail: str = Field(description="What is wrong with it, for a person")


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    model_config = ConfigDict(extra="allow", title="Problem")
    type: str = Field(
        description="URI naming the kind of problem",
        examples=[f"{TYPE_PREFIX}invalid-request"],
        json_schema_extra={"format": "uri"},
    )
    title: str = Field(description="Short summary of the kind")
    status: int = Field(ge=400, le=599, description="The HTTP status code")
    detail: str = Field(description="What happened and what to do, for this request")
    instance: str = Field(
        description="The request's path, percent-encoded", json_schema_extra={"format": "uri-reference"}
    )
    request_id: str = Field(description="This request's X-Request-ID")
    errors: list[InvalidField] = Field(description="The invalid fields (empty when none is to blame)")


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def kind_slug(name: str) -> str:
    """``UnknownQueueEntry`` -> ``unknown-queue-entry``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def problem_body(
    scope: dict[str, Any],
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    errors: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A problem for the request in ``scope``; ``kind`` (a class-like name) names its type,
    none means a plain HTTP error (``about:blank``, titled by the status phrase)."""
    return {
        "type": f"{TYPE_PREFIX}{kind_slug(kind)}" if kind else "about:blank",
        "title": re.sub(r"(?<!^)(?=[A-Z])", " ", kind).capitalize() if kind else HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": quote(scope.get("path", ""), safe="/:@!$&'()*+,;=-._~"),  # a URI reference, as sent
        "request_id": request_id_of(scope) or "",
        "errors": errors or [],
        **extra,
    }


def problem(
    scope: dict[str, Any], status: int, detail: str, headers: dict[str, str] | None = None, **kw: Any
) -> ProblemResponse:
    return ProblemResponse(problem_body(scope, status, detail, **kw), status_code=status, headers=headers)


def problem_bytes(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


EXAMPLE_SCOPE = {"path": "/api/queue", "state": {"request_id": "5f0c6d1e-3b8a-4f51-9d43-2f7c1b0a9e11"}}


def _example(status: int, kind: str | None, detail: str, errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return problem_body(EXAMPLE_SCOPE, status, detail, kind=kind, errors=errors)


EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
    401: (
        "Missing or unknown API key",
        _example(401, "Unauthorized", UNAUTHORIZED, [KEY_FIELD]),
    ),
    404: (
        "The record the request names does not exist",
        _example(404, "UnknownQueueEntry", "no queue entry 'crm-q-1'"),
    ),
    409: (
        "The current state forbids the command",
        _example(
            409,
            "AlreadyConverted",
            "user 10005 already has active conversion crm-7731; reverse it first",
        ),
    ),
    413: ("Body over 1 MiB", _example(413, "BodyTooLarge", "the request body is over 1048576 bytes")),
    422: (
        "A value breaks a rule (each invalid field is listed)",
        _example(
            422,
            "InvalidRequest",
            "queue_type: must be one of outstanding_requests or unsigned_users",
            [
                {
                    "field": "queue_type",
                    "location": "body",
                    "detail": "must be one of outstanding_requests or unsigned_users",
                }
            ],
        ),
    ),
    503: (
        "Not now: the phase is not cut_over, the store did not answer, or the projection is behind; retry",
        _example(
            503,
            "WrongPhase",
            "commands are refused in phase bootstrapped: run convtrack cutover first",
        ),
    ),
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of an operation that can answer these error statuses."""
    return {
        status: {
            "description": EXAMPLES[status][0],
            "content": {
                MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}, "example": EXAMPLES[status][1]}
            },
        }
        for status in statuses
    }
