"""The API's access log and request metrics (one pure ASGI middleware), and ``GET /metrics``.

Per request: one histogram observation by route template (``/api/queue/{entry_id}/assign``,
never the raw path), for a command its outcome, for a 401 the key failure's reason, and
one access-log line (method, path, status, duration, request id, the key's name — never
the key). A few microseconds; the labels' children are cached by prometheus-client."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from infrastructure.api.deps import caller, services
from infrastructure.observability import metrics
from infrastructure.observability.store_metrics import StoreCollector
from infrastructure.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

access_log = logging.getLogger("convtrack.access")
UNMATCHED = "unmatched"  # no route: 404s, bodies refused before routing
OUTCOMES = {
    200: "replayed",
    201: "recorded",
    401: "unauthorized",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    503: "unavailable",
}
KEY_HEADERS = (b"x-api-key", b"authorization")


class AccessLogAndMetrics:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app raises before it answers

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            finished(scope, status, time.perf_counter() - started)


def finished(scope: Scope, status: int, seconds: float) -> None:
    route = scope.get("route")
    template = getattr(route, "path_format", None) or UNMATCHED
    metrics.REQUEST_SECONDS.labels(scope["method"], template, str(status)).observe(seconds)
    if "commands" in getattr(route, "tags", ()):
        command = str(route.name)  # type: ignore[union-attr]
        outcome = OUTCOMES.get(status) or ("failed" if status >= 500 else "refused")
        metrics.COMMANDS.labels(command, outcome).inc()
        if status == 200:
            metrics.IDEMPOTENT_REPLAYS.labels(command).inc()
    if status == 401:
        sent = any(name in KEY_HEADERS for name, _ in scope.get("headers", ()))
        metrics.API_KEY_FAILURES.labels("unknown" if sent else "missing").inc()
    if access_log.isEnabledFor(logging.INFO):
        log_request(scope, status, seconds)


def log_request(scope: Scope, status: int, seconds: float) -> None:
    state = scope.get("state") or {}
    request_id = state.get("request_id") or _header(scope, b"x-request-id")
    key_name = state.get("caller")
    millis = round(seconds * 1000, 2)
    access_log.info(
        "%s %s %d %.2fms request_id=%s key=%s",
        scope["method"],
        scope["path"],
        status,
        millis,
        request_id or "-",
        key_name or "-",
        extra={
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": millis,
            "request_id": request_id,
            "key_name": key_name,
        },
    )


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return bytes(value).decode("latin-1")
    return None


def metrics_endpoint(request: Request) -> Response:
    """Prometheus text format: every worker's counters and histograms, and the store's facts."""
    current = services(request)
    registry = metrics.scrape_registry(StoreCollector(current.tracker, lambda: current.phase))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def install_observability(app: FastAPI, settings: Settings) -> None:
    """The access log and request metrics around every request, and ``GET /metrics``
    (with an API key only when ``metrics_require_key``)."""
    app.add_middleware(AccessLogAndMetrics)
    needs = [Depends(caller)] if settings.metrics_require_key else None
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"], dependencies=needs, include_in_schema=False)
