"""``X-Request-ID``: every request has one, every response echoes it.

A caller's id is kept when it is 1-200 characters of ``A-Z a-z 0-9 . _ : / + = @ -`` (a
UUID, a ULID, a trace id, base64); otherwise, or when absent, a fresh uuid4 replaces it
(as Heroku's router does), so nothing a caller sends can break a log line. The id is put on
``request.state.request_id`` (``scope["state"]``) for the error bodies, the events and the
access log. Pure ASGI: one closure per request, no task or stream as BaseHTTPMiddleware."""

from __future__ import annotations

import re
import uuid
from typing import Any

HEADER = "X-Request-ID"
_HEADER_KEY = HEADER.lower().encode()
_VALID = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,200}")


def accepted(value: bytes | None) -> str:
    """The caller's id if it is acceptable, else a new one."""
    if value is not None and _VALID.fullmatch(value):
        return value.decode()
    return str(uuid.uuid4())


def request_id_of(scope: dict[str, Any]) -> str | None:
    state = scope.get("state")
    return state.get("request_id") if state is not None else None


class RequestId:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for name, value in scope["headers"]:
            if name == _HEADER_KEY:
                sent = value
                break
        request_id = accepted(sent)
        scope.setdefault("state", {})["request_id"] = request_id
        echoed = (_HEADER_KEY, request_id.encode())

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        await self.app(scope, receive, send_with_id)
