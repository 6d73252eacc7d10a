"""What every route shares: the worker's services, the caller's API key, the read model
and read-your-writes waiting. One module, as the FastAPI template's ``api/deps.py``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from domain.errors import InvalidValue
from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.errors import NotYetProjected, QueriesUnavailable, Unauthorized
from infrastructure.api.problems import documented
from infrastructure.api.read_model import ReadModel
from infrastructure.application import ConversionTracker
from infrastructure.projections.following import LiveFollower, PhaseWatch
from infrastructure.provenance import new_request_id

COMMAND_THREADS = 40

IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=191)]
MinPosition = Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Wait until projected up to here")]
WaitSeconds = Annotated[float, Query(ge=0, le=30)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]


@dataclass
class Services:
    """One worker's parts, made by the app's lifespan and kept on ``app.state.services``.

    ``phase`` is the lifecycle's phase as a background thread last read it (``watch``, every
    second): commands check it without a round trip. ``read_model`` (and ``follower``, when
    this worker follows) exist exactly while the phase is cut_over."""

    tracker: ConversionTracker
    engine: Engine
    keys: ApiKeys
    read_model: ReadModel | None = None
    phase: Phase = Phase.NOT_BOOTSTRAPPED
    stop: threading.Event = field(default_factory=threading.Event)
    # the blocking service calls of commands (asyncio's executor: a lighter hop than anyio's)
    commands: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(COMMAND_THREADS, thread_name_prefix="command")
    )
    follower: LiveFollower | None = None
    watch: PhaseWatch | None = None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


API_KEY = APIKeyHeader(
    name="X-API-Key", scheme_name="ApiKey", auto_error=False, description="The key from `convtrack api-key create`"
)
BEARER = HTTPBearer(
    scheme_name="Bearer", auto_error=False, description="The same key, as `Authorization: Bearer <key>`"
)


async def caller(
    request: Request,
    x_api_key: Annotated[str | None, Depends(API_KEY)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)] = None,
) -> str:
    """The calling service's name, from its key (``X-API-Key`` or ``Authorization: Bearer``):
    two security schemes, either one will do."""
    key = x_api_key or (bearer.credentials if bearer else None)
    keys = services(request).keys
    name = keys.cached_caller(key) or await run_in_threadpool(keys.caller, key)
    if name is None:
        raise Unauthorized
    request.state.caller = name
    return name


AUTHENTICATED = [Depends(caller)]


def caller_name(request: Request) -> str | None:
    """The calling service's key name, as ``caller`` checked it (the actor of its events)."""
    return getattr(request.state, "caller", None)


def request_id(request: Request) -> str:
    """The request's id (``X-Request-ID``, set by the middleware), or one made now and kept
    on the request, so every event of one request shares it."""
    found = getattr(request.state, "request_id", None)
    if not found:
        found = request.state.request_id = new_request_id()
    return str(found)


def read_model(request: Request, min_position: MinPosition = None, wait_seconds: WaitSeconds = 5.0) -> ReadModel:
    """The projected tables, once they have reached ``min_position`` (read your own write)."""
    current = services(request)
    model = current.read_model
    if model is None:
        raise QueriesUnavailable(
            f"queries are unavailable in phase {current.phase}: the live tables are the legacy ones, "
            "not the tracker's (they are the tracker's from cutover until a rollback)"
        )
    if min_position and min_position > (head := current.tracker.head_position()):
        raise InvalidValue("min_position", f"no event has been recorded at {min_position} (the head is {head})")
    if not model.wait_for(min_position, wait_seconds):
        raise NotYetProjected(
            f"the projections have not reached position {min_position} within {wait_seconds} s; retry shortly"
        )
    return model


Reads = Annotated[ReadModel, Depends(read_model)]


def query(
    router: APIRouter, path: str, model: type[Any], name: str, *, finds: bool = False, **extra: Any
) -> Callable[..., Any]:
    """``GET path`` reading the projected tables: keyed, answering ``model``, with the
    errors a query can return (401, 422, 503; 404 when it ``finds`` one record)."""
    errors = (401, 404, 422, 503) if finds else (401, 422, 503)
    return router.get(
        path,
        response_model=model,
        dependencies=AUTHENTICATED,
        responses=documented(*errors),
        tags=["queries"],
        operation_id=name,
        **extra,
    )
