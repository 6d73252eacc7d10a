"""The OpenAPI document and the docs pages.

FastAPI builds the document; this adds what it cannot say by itself: the problem schemas
every error response refers to, the ``X-Request-ID`` response header, and exact integer
bounds (FastAPI's OpenAPI model holds ``minimum``/``maximum`` as floats, so 2**63 - 1
came out as ``9.223372036854776e+18``). The docs pages (Swagger UI at /docs, ReDoc at
/redoc) load their scripts from the app itself (``fastapi-offline`` bundles them), so they
work on a network without internet."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic.json_schema import models_json_schema

from domain.values import BIGINT_MAX, BIGINT_MIN, INT_MAX, INT_MIN
from infrastructure.api.problems import Problem
from infrastructure.api.request_id import HEADER
from infrastructure.api.responses import NotReady

EXACT = {float(bound): bound for bound in (BIGINT_MIN, BIGINT_MAX, INT_MIN, INT_MAX)}
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
REQUEST_ID_HEADER = {
    "description": "The request's id: the caller's X-Request-ID when it is 1-200 characters of "
    "A-Z a-z 0-9 . _ : / + = @ -, else a new UUID",
    "schema": {"type": "string"},
}


def exact_integers(node: Any) -> Any:
    """Bounds of integer schemas as integers again (the exact domain constants)."""
    if isinstance(node, dict):
        for key in BOUNDS:
            value = node.get(key)
            if isinstance(value, float) and value.is_integer():
                node[key] = EXACT.get(value, int(value))
        for child in node.values():
            exact_integers(child)
    elif isinstance(node, list):
        for child in node:
            exact_integers(child)
    return node


def _with_request_id_headers(paths: dict[str, Any]) -> None:
    for operations in paths.values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                response.setdefault("headers", {})[HEADER] = {"$ref": f"#/components/headers/{HEADER}"}


def document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    components = doc.setdefault("components", {})
    _, problems = models_json_schema(
        [(Problem, "serialization"), (NotReady, "serialization")], ref_template="#/components/schemas/{model}"
    )
    components.setdefault("schemas", {}).update(problems["$defs"])
    components.setdefault("headers", {})[HEADER] = REQUEST_ID_HEADER
    _with_request_id_headers(doc["paths"])
    app.openapi_schema = exact_integers(doc)
    return app.openapi_schema
