"""Logging for every ``convtrack`` process: one handler on the root logger, text or JSON
(python-json-logger's orjson formatter), so the tracker's own loggers (``convtrack.*``)
and those of uvicorn, SQLAlchemy and the event-sourcing library come out alike.

Fields passed as ``extra=`` become JSON keys; the text format shows the message only, so
messages that matter in text carry their facts themselves (the access log does)."""

from __future__ import annotations

import enum
import logging
import sys
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TextIO

from pythonjsonlogger.orjson import OrjsonFormatter
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "{asctime}{levelname}{name}{process}{message}"
JSON_NAMES = {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}
PACKAGE = "conversion-tracker"


class CaseInsensitive(enum.StrEnum):
    """``INFO`` is ``info`` (in an environment variable as in an option)."""

    @classmethod
    def _missing_(cls, value: object) -> CaseInsensitive | None:
        return next((member for member in cls if member.value == str(value).lower()), None)


class LogLevel(CaseInsensitive):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def number(self) -> int:
        return int(getattr(logging, self.name))


class LogFormat(CaseInsensitive):
    TEXT = "text"
    JSON = "json"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (as logging's last-resort handler
    does), so a process that swaps it (tests capturing output) still gets the lines."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def formatter(log_format: LogFormat) -> logging.Formatter:
    chosen: logging.Formatter
    if log_format is LogFormat.JSON:
        chosen = OrjsonFormatter(JSON_FIELDS, style="{", rename_fields=JSON_NAMES)
    else:
        chosen = logging.Formatter(TEXT_FORMAT)
    chosen.converter = time.gmtime  # ISO 8601 in UTC, with milliseconds: 2026-12-01T01:11:52.351Z
    chosen.default_time_format = "%Y-%m-%dT%H:%M:%S"
    chosen.default_msec_format = "%s.%03dZ"
    return chosen


def configure_logging(level: LogLevel, log_format: LogFormat) -> None:
    """Send every logger's records at ``level`` and above to stderr in ``log_format``.
    Called again (``serve --log-level``), it replaces its own handler, not others'."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    handler = StderrHandler()
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level.number)
    # uvicorn's start-up chatter and Alembic's per-step lines are replaced by our own lines
    # (the start-up line; "schema: upgraded from … to …"); their warnings and errors stay
    for chatty in ("uvicorn.error", "alembic"):
        logging.getLogger(chatty).setLevel(level.number if level is LogLevel.DEBUG else logging.WARNING)


def tracker_version() -> str:
    try:
        return version(PACKAGE)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def without_password(url: str) -> str:
    """The database URL as it may be logged: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def log_startup(command: str, message: str, **fields: Any) -> None:
    """The one line a long-running command logs when it starts (version and database
    always; ``fields`` as JSON keys, and in the text message)."""
    fields = {"version": tracker_version(), **fields}
    shown = " ".join(f"{key}={value}" for key, value in fields.items())
    logging.getLogger(f"convtrack.{command}").info(
        "convtrack %s %s: %s", command, message, shown, extra={"event": "startup", "command": command, **fields}
    )
