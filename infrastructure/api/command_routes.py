"""One POST route per command, derived from its dataclass: the body model from its
fields, the path parameter from its target field, the Idempotency-Key header; the route
runs ``ConversionTracker.execute`` on the worker's command threads."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from domain.commands import Command, Kind
from domain.lifecycle import require
from infrastructure.api import deps, schemas
from infrastructure.api.errors import ERRORS


async def run_command(request: Request, command: Command, idempotency_key: str | None) -> JSONResponse:
    """201, or 200 for a replayed idempotent request. (The response model documents the
    body; a JSONResponse skips validating what the service layer built.)"""
    current = deps.services(request)
    require("command", current.phase)  # the cached phase: no round trip
    actor, request_id = deps.caller_name(request), deps.request_id(request)
    result = await asyncio.get_running_loop().run_in_executor(
        current.commands,
        lambda: current.tracker.execute(command, idempotency_key=idempotency_key, actor=actor, request_id=request_id),
    )
    return JSONResponse(result.to_dict(), status_code=200 if result.replayed else 201)


def _parameters(command_type: type[Command]) -> list[inspect.Parameter]:
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("request", keyword, annotation=Request)]
    for name, field_spec, _ in command_type.specs():
        if field_spec.target:
            parameters.append(inspect.Parameter(name, keyword, annotation=schemas.PATH_TYPES[field_spec.kind]))
    body = schemas.body_model(command_type)
    parameters.append(inspect.Parameter("body", keyword, annotation=body))
    parameters.append(inspect.Parameter("idempotency_key", keyword, annotation=deps.IdempotencyKey, default=None))
    return parameters


def _routed(path: str, command_type: type[Command]) -> str:
    """A text id in the path matches up to the route's last segment, so an id holding "/"
    (sent as-is or as %2F) is addressable; OpenAPI still shows ``{entry_id}``."""
    for name, field_spec, _ in command_type.specs():
        if field_spec.target and field_spec.kind is Kind.SHORT:
            path = path.replace("{" + name + "}", "{" + name + ":path}")
    return path


def add_command_route(router: APIRouter, path: str, command_type: type[Command], *, name: str) -> None:
    """``POST path`` runs ``command_type``; ``name`` keeps the route's operation id stable."""

    async def endpoint(request: Request, body: schemas.Body, idempotency_key: str | None, **target: Any) -> Any:
        return await run_command(request, command_type(**target, **body.model_dump()), idempotency_key)

    endpoint.__signature__ = inspect.Signature(_parameters(command_type))  # type: ignore[attr-defined]
    endpoint.__doc__ = command_type.__doc__
    router.post(
        _routed(path, command_type),
        response_model=schemas.CommandResponse,
        status_code=201,
        dependencies=deps.AUTHENTICATED,
        responses=ERRORS,
        tags=["commands"],
        name=name,
    )(endpoint)
