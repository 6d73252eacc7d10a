"""One POST route per command, derived from its dataclass: the body model from its
fields (with an example from their declared examples), the path parameter from its target
field, the Idempotency-Key header; the route runs ``ConversionTracker.execute`` on the
worker's command threads."""

from __future__ import annotations

import asyncio
import inspect
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from domain.commands import Command, Kind
from domain.lifecycle import require
from infrastructure.api import deps, schemas
from infrastructure.api.problems import documented
from infrastructure.api.responses import CommandResult, typed_ids


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
    body = {"command": result.command, "ids": typed_ids(result.ids), "position": result.position}
    body["replayed"] = result.replayed
    return JSONResponse(body, status_code=200 if result.replayed else 201)


def _parameters(command_type: type[Command]) -> list[inspect.Parameter]:
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [inspect.Parameter("request", keyword, annotation=Request)]
    for name, field_spec, _ in command_type.specs():
        if field_spec.target:
            parameters.append(inspect.Parameter(name, keyword, annotation=schemas.PATH_TYPES[field_spec.kind]))
    body = schemas.body_model(command_type)
    summary = " ".join((command_type.__doc__ or "").split())
    example = {"example": {"summary": summary, "value": schemas.body_example(command_type)}}
    parameters.append(inspect.Parameter("body", keyword, annotation=Annotated[body, Body(openapi_examples=example)]))
    parameters.append(inspect.Parameter("idempotency_key", keyword, annotation=deps.IdempotencyKey, default=None))
    return parameters


def _routed(path: str, command_type: type[Command]) -> str:
    """A text id in the path matches up to the route's last segment, so an id holding "/"
    (sent as-is or as %2F) is addressable; OpenAPI still shows ``{entry_id}``."""
    for name, field_spec, _ in command_type.specs():
        if field_spec.target and field_spec.kind is Kind.SHORT:
            path = path.replace("{" + name + "}", "{" + name + ":path}")
    return path


def add_command_route(
    router: APIRouter, path: str, command_type: type[Command], *, name: str, finds: bool = True
) -> None:
    """``POST path`` runs ``command_type``; ``name`` keeps the route's operation id stable.
    ``finds``: the command names a record (an entry, a user, an agent) that may not exist (404)."""

    async def endpoint(request: Request, body: schemas.Body, idempotency_key: str | None, **target: Any) -> Any:
        return await run_command(request, command_type(**target, **body.model_dump()), idempotency_key)

    endpoint.__signature__ = inspect.Signature(_parameters(command_type))  # type: ignore[attr-defined]
    endpoint.__doc__ = command_type.__doc__
    errors = (401, 404, 409, 413, 422, 503) if finds else (401, 409, 413, 422, 503)
    router.post(
        _routed(path, command_type),
        response_model=CommandResult,
        status_code=201,
        dependencies=deps.AUTHENTICATED,
        responses={200: {"model": CommandResult, "description": "A retried Idempotency-Key: the first result"}}
        | documented(*errors),
        tags=["commands"],
        name=name,
        operation_id=name,
    )(endpoint)
