"""The FastAPI application, assembled: the worker's services (lifespan), the middleware
(request ids, body limit), the routers, the error handlers (every error a problem), the
OpenAPI document (``openapi.py``) and the docs pages served offline. Commands map
one-to-one to the service layer; queries read the projected tables; every request but
/health, /ready and /metrics needs an API key (/metrics too with
CONVTRACK_METRICS_REQUIRE_KEY)."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.deps import COMMAND_THREADS, Services
from infrastructure.api.errors import install_error_handlers
from infrastructure.api.limits import BodySizeLimit
from infrastructure.api.openapi import document
from infrastructure.api.read_model import ReadModel
from infrastructure.api.request_id import RequestId
from infrastructure.api.routes import calls, conversions, health, history, queue, scores
from infrastructure.database import warm_pool
from infrastructure.observability.http import install_observability
from infrastructure.observability.logs import configure_logging
from infrastructure.projections import tracking
from infrastructure.projections.following import LiveFollower, PhaseWatch, read_phase
from infrastructure.projections.names import LIVE
from infrastructure.projections.rebuild import open_live_tables
from infrastructure.settings import Settings
from infrastructure.wiring import open_recorder, tracker_on

log = logging.getLogger("convtrack.api")
WARM_CONNECTIONS = 10
DESCRIPTION = """Record conversions, call attempts, callbacks and queue work; read the projected tables.

Every operation but /health and /ready needs an API key (`X-API-Key: <key>` or
`Authorization: Bearer <key>`). Every error is an RFC 9457 problem (`application/problem+json`).
Every response carries `X-Request-ID` (yours when you send an acceptable one). See docs/api.md."""


def open_services(settings: Settings, *, follow: bool) -> Services:
    """The worker's parts: the tracker, its keys, and, while the phase is cut_over, the read
    model and (``follow``) the live tables' follower. The phase is read here once, then
    every second by ``watch`` (started by the lifespan), so a running server follows
    cutover and rollback without a restart."""
    recorder = open_recorder(settings)
    tracker = tracker_on(recorder)
    recorder.open_connections(reads=WARM_CONNECTIONS)
    warm_pool(recorder.engine, 4)  # queries, API keys, /ready
    current = Services(tracker, recorder.engine, ApiKeys(recorder.engine))
    if follow:
        current.follower = LiveFollower(tracker, interval=settings.poll_interval_seconds)
    phase = read_phase(tracker)
    enter_phase(current, phase)
    current.watch = PhaseWatch(tracker, phase, lambda new: enter_phase(current, new))
    return current


def enter_phase(current: Services, phase: Phase) -> None:
    """Commands and queries exactly while the tracker's tables are live (cut_over): commands
    follow the phase at once; queries stop before the phase leaves cut_over and start once
    the live tables are open (so a 200 from /ready means commands are taken)."""
    if phase is not Phase.CUT_OVER:
        current.read_model = None
    current.phase = phase
    if phase is Phase.CUT_OVER and current.read_model is None:
        tables = open_live_tables(current.tracker)
        tracking.create_tracking_tables(current.engine)
        tracking.ensure_tracking_row(current.engine, LIVE)
        current.read_model = ReadModel(current.engine, tables)
    if current.follower is not None:
        current.follower.phase_changed(phase)
    accepted = phase is Phase.CUT_OVER
    (log.info if accepted else log.warning)("phase %s: commands %s", phase, "accepted" if accepted else "refused")


def _start_threads(current: Services) -> None:
    """Start the command threads now rather than one per request of the first burst."""
    started = threading.Barrier(COMMAND_THREADS)
    for future in [current.commands.submit(started.wait, 10) for _ in range(COMMAND_THREADS)]:
        future.result()


def create_app(settings: Settings | None = None, *, follow: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = open_services(settings, follow=follow)
        app.state.services = current
        _start_threads(current)
        # what exists now lives as long as the worker: keep it out of every future
        # collection (a full collection of it paused the worker for 160-180 ms under load)
        gc.collect()
        gc.freeze()
        if current.watch is not None:
            current.watch.start()
        yield
        current.stop.set()
        if current.watch is not None:
            current.watch.stop()
        current.commands.shutdown(wait=True)
        if current.follower is not None:
            current.follower.stop()
        current.tracker.sql_recorder.close()  # the pools' connections, not left to the (frozen) collector

    app = FastAPIOffline(
        title="Conversion Tracker API",
        version="1",
        lifespan=lifespan,
        description=DESCRIPTION,
        static_url="/docs/assets",
        swagger_ui_parameters={"persistAuthorization": True},
    )
    app.add_middleware(BodySizeLimit)
    install_observability(app, settings)  # outside the size limit: its 413s are logged and counted
    build = app.build_middleware_stack  # RequestId outside even Starlette's 500 handler: every response has the id
    app.build_middleware_stack = lambda: RequestId(build())  # type: ignore[method-assign]
    install_error_handlers(app)
    for resource in (conversions, calls, queue, scores, history, health):
        app.include_router(resource.router)
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (one per worker process)."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)  # serve passes its options through the environment
    return create_app(settings, follow=settings.embedded_follower)
