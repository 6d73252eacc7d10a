"""The FastAPI application: commands map one-to-one to the service layer; queries read
the projected tables; every request but /health and /ready needs an API key."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any

from eventsourcing.persistence import PersistenceError
from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from domain.errors import ConvTrackError, InvalidValue, OperationRefused, UnknownUser
from domain.values import row_time
from infrastructure.api import schemas
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.limits import BodySizeLimit
from infrastructure.api.read_model import ReadModel
from infrastructure.application import CommandResult, ConversionTracker
from infrastructure.database import warm_pool
from infrastructure.projections.names import LIVE
from infrastructure.projections.rebuild import open_live_tables
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker

log = logging.getLogger("convtrack.api")
COMMAND_THREADS = 40
WARM_CONNECTIONS = 10
ENTRY_ID = Annotated[str, Path(min_length=1, max_length=191)]
IDEMPOTENCY_KEY = Annotated[str | None, Header(alias="Idempotency-Key", max_length=191)]
MinPosition = Annotated[int | None, Query(ge=0, le=2**63 - 1, description="Wait until projected up to here")]
WaitSeconds = Annotated[float, Query(ge=0, le=30)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorResponse} for status in (401, 404, 409, 413, 422, 503)
}


@dataclass
class Services:
    tracker: ConversionTracker
    keys: ApiKeys
    read_model: ReadModel | None
    runner: ProjectionRunner | None
    stop: threading.Event = field(default_factory=threading.Event)
    # the blocking service calls of commands (asyncio's executor: a lighter hop than anyio's)
    commands: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(COMMAND_THREADS, thread_name_prefix="command")
    )
    follower: threading.Thread | None = None


def _start_threads(executor: ThreadPoolExecutor, count: int) -> None:
    """Start the executor's threads now rather than one per request of the first burst."""
    started = threading.Barrier(count)
    for future in [executor.submit(started.wait, 10) for _ in range(count)]:
        future.result()


def create_app(settings: Settings | None = None, *, follow: bool = True) -> FastAPI:
    settings = settings or Settings()
    services: dict[str, Services] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tracker = open_tracker(settings)
        tracker.sql_recorder.open_connections(reads=WARM_CONNECTIONS)
        warm_pool(tracker.sql_recorder.engine, 4)  # queries, API keys, /ready
        try:
            tables = open_live_tables(tracker)
            read_model: ReadModel | None = ReadModel(tracker.sql_recorder.engine, tables)
            runner: ProjectionRunner | None = ProjectionRunner(tracker, tables, LIVE)
        except OperationRefused as refusal:
            log.warning("queries disabled: %s", refusal)
            read_model, runner = None, None
        current = Services(tracker, ApiKeys(tracker.sql_recorder.engine), read_model, runner)
        if follow and runner is not None:
            current.follower = threading.Thread(
                target=runner.follow,
                args=(current.stop,),
                kwargs={"interval": settings.poll_interval_seconds},
                daemon=True,
            )
            current.follower.start()
        services["current"] = current
        _start_threads(current.commands, COMMAND_THREADS)
        # what exists now lives as long as the worker: keep it out of every future
        # collection (a full collection of it paused the worker for 160-180 ms under load)
        gc.collect()
        gc.freeze()
        yield
        current.stop.set()
        current.commands.shutdown(wait=True)
        if current.follower is not None:
            current.follower.join(timeout=10)

    app = FastAPI(
        title="Conversion Tracker API",
        version="1",
        lifespan=lifespan,
        description="Record conversions, call attempts, callbacks and queue work; read the projected tables.",
    )
    app.add_middleware(BodySizeLimit)

    def svc() -> Services:
        return services["current"]

    async def caller(
        request: Request,
        x_api_key: Annotated[str | None, Header()] = None,
        authorization: Annotated[str | None, Header()] = None,
    ) -> str:
        key = x_api_key or (
            authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None
        )
        keys = svc().keys
        name = keys.cached_caller(key) or await run_in_threadpool(keys.caller, key)
        if name is None:
            raise Unauthorized
        request.state.caller = name
        return name

    def reads() -> ReadModel:
        model = svc().read_model
        if model is None:
            raise QueriesUnavailable(
                "queries are unavailable: the live tables are still the legacy ones (before cutover)"
            )
        return model

    def wait(model: ReadModel, min_position: int | None, wait_seconds: float) -> None:
        if min_position and min_position > (head := svc().tracker.sql_recorder.max_notification_id() or 0):
            raise InvalidValue("min_position", f"no event has been recorded at {min_position} (the head is {head})")
        if not model.wait_for(min_position, wait_seconds):
            raise NotYetProjected(
                f"the projections have not reached position {min_position} within {wait_seconds} s; retry shortly"
            )

    _error_handlers(app)
    authed = [Depends(caller)]

    async def command(call: Callable[[], CommandResult]) -> JSONResponse:
        """Run a command on the worker's command threads; 201, or 200 for a replayed
        idempotent request. (The response model documents the body; a JSONResponse
        skips validating what the service layer built.)"""
        result = await asyncio.get_running_loop().run_in_executor(svc().commands, call)
        return JSONResponse(result.to_dict(), status_code=200 if result.replayed else 201)

    # ----------------------------------------------------------------- commands

    @app.post(
        "/api/conversions",
        response_model=schemas.CommandResponse,
        status_code=201,
        dependencies=authed,
        responses=ERRORS,
        tags=["commands"],
    )
    async def record_conversion(
        body: schemas.RecordConversion, idempotency_key: IDEMPOTENCY_KEY = None
    ) -> JSONResponse:
        """Record a conversion; deactivates the user's score and completes their open queue entries, atomically."""
        values = body.model_dump()
        for money in ("claim_value", "estimated_commission"):
            values[money] = None if values[money] is None else Decimal(values[money])
        return await command(partial(svc().tracker.record_conversion, **values, idempotency_key=idempotency_key))

    @app.post(
        "/api/conversions/{conversion_id}/reverse",
        response_model=schemas.CommandResponse,
        status_code=201,
        dependencies=authed,
        responses=ERRORS,
        tags=["commands"],
    )
    async def reverse_conversion(
        conversion_id: ENTRY_ID,
        body: schemas.ReverseConversion,
        idempotency_key: IDEMPOTENCY_KEY = None,
    ) -> JSONResponse:
        """Reverse a conversion (the user becomes active again)."""
        return await command(
            partial(
                svc().tracker.reverse_conversion,
                conversion_id=conversion_id,
                reason=body.reason,
                idempotency_key=idempotency_key,
            )
        )

    @app.post(
        "/api/call-attempts",
        response_model=schemas.CommandResponse,
        status_code=201,
        dependencies=authed,
        responses=ERRORS,
        tags=["commands"],
    )
    async def record_call_attempt(
        body: schemas.RecordCallAttempt, idempotency_key: IDEMPOTENCY_KEY = None
    ) -> JSONResponse:
        """Record a call attempt; the scoring rule turns its outcome into a score change."""
        return await command(
            partial(svc().tracker.record_call_attempt, **body.model_dump(), idempotency_key=idempotency_key)
        )

    @app.post(
        "/api/queue",
        response_model=schemas.CommandResponse,
        status_code=201,
        dependencies=authed,
        responses=ERRORS,
        tags=["commands"],
    )
    async def enqueue(body: schemas.Enqueue, idempotency_key: IDEMPOTENCY_KEY = None) -> JSONResponse:
        """Put a user in a queue."""
        return await command(partial(svc().tracker.enqueue, **body.model_dump(), idempotency_key=idempotency_key))

    def entry_command(name: str, body_type: type[schemas.Body], call: Callable[..., CommandResult], doc: str) -> None:
        async def endpoint(
            entry_id: ENTRY_ID,
            body: body_type,  # type: ignore[valid-type]
            idempotency_key: IDEMPOTENCY_KEY = None,
        ) -> JSONResponse:
            return await command(
                partial(call, svc().tracker, entry_id=entry_id, **body.model_dump(), idempotency_key=idempotency_key)
            )

        endpoint.__doc__ = doc
        endpoint.__annotations__["body"] = body_type  # a local name: resolve it for FastAPI
        app.post(
            f"/api/queue/{{entry_id}}/{name}",
            response_model=schemas.CommandResponse,
            status_code=201,
            dependencies=authed,
            responses=ERRORS,
            tags=["commands"],
            name=name.replace("-", "_"),
        )(endpoint)

    entry_command("assign", schemas.Assign, ConversionTracker.assign, "Assign an open entry to an agent.")
    entry_command("complete", schemas.Reason, ConversionTracker.complete, "Complete an open entry.")
    entry_command("cancel", schemas.Reason, ConversionTracker.cancel, "Cancel an open entry.")
    entry_command(
        "callback",
        schemas.ScheduleCallback,
        ConversionTracker.schedule_callback,
        "Schedule (or move) a callback on an open entry.",
    )
    entry_command("clear-callback", schemas.Reason, ConversionTracker.clear_callback, "Clear an entry's callback.")

    @app.post(
        "/api/scores/{user_id}/reset",
        response_model=schemas.CommandResponse,
        status_code=201,
        dependencies=authed,
        responses=ERRORS,
        tags=["commands"],
    )
    async def reset_score(
        user_id: Annotated[int, Path(ge=-(2**63), le=2**63 - 1)],
        body: schemas.Reason,
        idempotency_key: IDEMPOTENCY_KEY = None,
    ) -> JSONResponse:
        """Reset a user's score to zero."""
        return await command(
            partial(svc().tracker.reset_score, user_id=user_id, reason=body.reason, idempotency_key=idempotency_key)
        )

    # ----------------------------------------------------------------- queries

    @app.get("/api/queue/getQueue", dependencies=authed, responses=ERRORS, tags=["queries"])
    def get_queue(
        queueType: Annotated[str, Query(pattern=r"^(unsigned_users|outstanding_requests)$")],  # noqa: N803
        limit: Limit = 100,
        offset: Offset = 0,
        min_position: MinPosition = None,
        wait_seconds: WaitSeconds = 5.0,
    ) -> dict[str, Any]:
        """Open entries of a queue, highest priority first (compatible with the old app's endpoint)."""
        model = reads()
        wait(model, min_position, wait_seconds)
        return {"queueType": queueType, "entries": model.queue(queueType, limit, offset)}

    @app.get("/api/scores/{user_id}", dependencies=authed, responses=ERRORS, tags=["queries"])
    def get_score(
        user_id: Annotated[int, Path(ge=-(2**63), le=2**63 - 1)],
        min_position: MinPosition = None,
        wait_seconds: WaitSeconds = 5.0,
    ) -> dict[str, Any]:
        """A user's score row."""
        model = reads()
        wait(model, min_position, wait_seconds)
        row = model.score(user_id)
        if row is None:
            raise UnknownUser(f"no score row for user {user_id}")
        return row

    @app.get("/api/conversions", dependencies=authed, responses=ERRORS, tags=["queries"])
    def list_conversions(
        agent_id: Annotated[int | None, Query(ge=-(2**31), le=2**31 - 1)] = None,
        conversion_type: Annotated[str | None, Query(max_length=191)] = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
        min_position: MinPosition = None,
        wait_seconds: WaitSeconds = 5.0,
    ) -> dict[str, Any]:
        """Conversions, newest first, filtered by agent, type and [since, until)."""
        model = reads()
        wait(model, min_position, wait_seconds)
        rows = model.conversions(
            agent_id=agent_id,
            conversion_type=conversion_type,
            since=_naive(since),
            until=_naive(until),
            limit=limit,
            offset=offset,
        )
        return {
            "conversions": rows,
            "limit": limit,
            "offset": offset,
            "next_offset": offset + limit if len(rows) == limit else None,
        }

    @app.get("/api/conversions/totals", dependencies=authed, responses=ERRORS, tags=["queries"])
    def conversion_totals(min_position: MinPosition = None, wait_seconds: WaitSeconds = 5.0) -> dict[str, Any]:
        """Conversion count and exact money totals per primary agent."""
        model = reads()
        wait(model, min_position, wait_seconds)
        return {"agents": model.totals_per_agent()}

    # ----------------------------------------------------------------- health

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        """Liveness plus facts: is the store reachable, how far behind are the projections."""
        return JSONResponse(_status(svc()))

    @app.get("/ready", tags=["health"])
    def ready() -> JSONResponse:
        """200 when the store is reachable and the live projection is being followed."""
        status = _status(svc())
        ok = status["store"] == "reachable" and status["queries"] == "available"
        return JSONResponse(status, status_code=200 if ok else 503)

    return app


def _status(services: Services) -> dict[str, Any]:
    try:
        with services.tracker.sql_recorder.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        head = services.tracker.sql_recorder.max_notification_id() or 0
        position = services.read_model.position() if services.read_model else None
        return {
            "store": "reachable",
            "head": head,
            "projected": position,
            "lag": None if position is None else max(0, head - position),
            "queries": "available" if services.read_model else "unavailable (before cutover)",
        }
    except SQLAlchemyError as error:
        return {"store": "unreachable", "detail": type(error).__name__, "queries": "unavailable"}


def _naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else row_time(moment)


class Unauthorized(Exception):
    pass


class NotYetProjected(ConvTrackError):
    http_status = 503


class QueriesUnavailable(ConvTrackError):
    http_status = 503


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Unauthorized)
    async def unauthorized(_request: Request, _error: Unauthorized) -> JSONResponse:
        return JSONResponse(
            {
                "error": "Unauthorized",
                "detail": "missing or unknown API key (send X-API-Key)",
                "field": "X-API-Key",
            },
            status_code=401,
            headers={"WWW-Authenticate": "ApiKey"},
        )

    @app.exception_handler(ConvTrackError)
    async def domain_error(_request: Request, error: ConvTrackError) -> JSONResponse:
        return JSONResponse(
            {"error": type(error).__name__, "detail": str(error), "field": getattr(error, "field", None)},
            status_code=error.http_status,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
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

    @app.exception_handler(PersistenceError)  # the same, raised through the event store
    @app.exception_handler(SQLAlchemyError)
    async def store_unavailable(_request: Request, error: Exception) -> JSONResponse:
        log.error("store error: %s", type(error).__name__)
        return JSONResponse(
            {"error": "StoreUnavailable", "detail": "the event store did not answer; retry", "field": None},
            status_code=503,
        )


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (one per worker process)."""
    settings = Settings()
    return create_app(settings, follow=settings.embedded_follower)
