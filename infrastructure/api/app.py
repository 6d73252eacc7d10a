"""The FastAPI application, assembled: the worker's services (lifespan), the routers, the
error handlers. Commands map one-to-one to the service layer; queries read the projected
tables; every request but /health and /ready needs an API key."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from domain.errors import OperationRefused
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.deps import COMMAND_THREADS, Services
from infrastructure.api.errors import install_error_handlers
from infrastructure.api.limits import BodySizeLimit
from infrastructure.api.read_model import ReadModel
from infrastructure.api.routes import calls, conversions, health, queue, scores
from infrastructure.database import warm_pool
from infrastructure.projections.names import LIVE
from infrastructure.projections.rebuild import open_live_tables
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import open_recorder, tracker_on

log = logging.getLogger("convtrack.api")
WARM_CONNECTIONS = 10


def open_services(settings: Settings) -> Services:
    """The worker's parts: the tracker, its keys, and the read model and its runner once the
    live tables are the tracker's (after cutover)."""
    recorder = open_recorder(settings)
    tracker = tracker_on(recorder)
    recorder.open_connections(reads=WARM_CONNECTIONS)
    warm_pool(recorder.engine, 4)  # queries, API keys, /ready
    try:
        tables = open_live_tables(tracker)
        read_model: ReadModel | None = ReadModel(recorder.engine, tables)
        runner: ProjectionRunner | None = ProjectionRunner(tracker, tables, LIVE)
    except OperationRefused as refusal:
        log.warning("queries disabled: %s", refusal)
        read_model, runner = None, None
    return Services(tracker, recorder.engine, ApiKeys(recorder.engine), read_model, runner)


def _start_threads(current: Services) -> None:
    """Start the command threads now rather than one per request of the first burst."""
    started = threading.Barrier(COMMAND_THREADS)
    for future in [current.commands.submit(started.wait, 10) for _ in range(COMMAND_THREADS)]:
        future.result()


def _start_follower(current: Services, interval: float) -> None:
    if current.runner is None:
        return
    current.follower = threading.Thread(
        target=current.runner.follow, args=(current.stop,), kwargs={"interval": interval}, daemon=True
    )
    current.follower.start()


def create_app(settings: Settings | None = None, *, follow: bool = True) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        current = open_services(settings)
        if follow:
            _start_follower(current, settings.poll_interval_seconds)
        app.state.services = current
        _start_threads(current)
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
    install_error_handlers(app)
    for resource in (conversions, calls, queue, scores, health):
        app.include_router(resource.router)
    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (one per worker process)."""
    settings = Settings()
    return create_app(settings, follow=settings.embedded_follower)
