"""The commands the tracker accepts, each declared once as a frozen dataclass.

A command holds its fields, their kinds and their validation. Everything else is derived
from these declarations: the HTTP body schemas (``infrastructure/api/command_bodies.py``),
the CLI options (``infrastructure/cli/command_options.py``), the idempotency fingerprint
and the Python API (``ConversionTracker.execute(command)``). A test walks every command and
checks that the OpenAPI bodies, the CLI options and the dataclass fields name the same fields.

Validation runs when a command is made, with the same rules the aggregates apply, so a bad
value is refused (``InvalidValue`` naming the field) before anything is loaded or written.
Values are kept as given: the aggregates normalise them, and the fingerprint of a retried
request is the same as it was before commands were objects.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from domain.errors import InvalidValue
from domain.values import (
    BIGINT_MAX,
    BIGINT_MIN,
    QueueType,
    check_datetime,
    check_int,
    check_json,
    check_money,
    check_text,
    check_varchar,
)


class Kind(enum.Enum):
    """What a field holds; each edge maps a kind to its own type (pydantic, click)."""

    USER_ID = "user id (BIGINT)"
    INT = "whole number (INT)"
    SHORT = "text of 1 to 191 characters"
    TEXT = "text of at most 65,535 bytes"
    REQUIRED_TEXT = "non-empty text of at most 65,535 bytes"
    MONEY = "exact decimal, at most 8 digits before and 2 after the point"
    JSON = "any JSON value"
    FLAG = "true or false"
    MOMENT = "date and time (ISO 8601)"
    QUEUE_TYPE = "unsigned_users or outstanding_requests"


def _check_required_text(name: str, value: object) -> object:
    if check_text(name, value) is None or not str(value).strip():
        raise InvalidValue(name, "must not be empty")
    return value


def _check_flag(name: str, value: object) -> object:
    if not isinstance(value, bool):
        raise InvalidValue(name, f"must be true or false, got {value!r:.40}")
    return value


def _check_queue_type(name: str, value: object) -> object:
    if value not in QueueType.ALL:
        raise InvalidValue(name, f"must be one of {sorted(QueueType.ALL)}, got {value!r:.40}")
    return value


CHECKS: dict[Kind, Callable[[str, Any], object]] = {
    Kind.USER_ID: lambda name, value: check_int(name, value, BIGINT_MIN, BIGINT_MAX),
    Kind.INT: check_int,
    Kind.SHORT: check_varchar,
    Kind.TEXT: check_text,
    Kind.REQUIRED_TEXT: _check_required_text,
    Kind.MONEY: check_money,
    Kind.JSON: check_json,
    Kind.FLAG: _check_flag,
    Kind.MOMENT: check_datetime,
    Kind.QUEUE_TYPE: _check_queue_type,
}


REQUIRED = dataclasses.MISSING
"""The default of a field that has none."""


@dataclass(frozen=True)
class FieldSpec:
    """How one field is declared: its kind, its help text and where the edges take it from.

    ``target`` marks the field that names the record a command acts on: it travels in the
    HTTP path (``/queue/{entry_id}/assign``), and on the command line as an argument when
    ``argument`` is set. ``aliases`` are extra CLI spellings kept for compatibility.
    """

    kind: Kind
    help: str = ""
    target: bool = False
    argument: bool = False
    aliases: tuple[str, ...] = ()
    example: Any = None


def spec(
    kind: Kind,
    help: str = "",
    *,
    default: Any = REQUIRED,
    target: bool = False,
    argument: bool = False,
    aliases: tuple[str, ...] = (),
    example: Any = None,
) -> Any:
    """A dataclass field carrying its :class:`FieldSpec` (``FIELD = spec(Kind.X, "help")``)."""
    meta = {"spec": FieldSpec(kind, help, target, argument, aliases, example)}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Command:
    """Base of every command. ``name`` is the command's stable name: it is stored with
    idempotency records and answered as ``command`` in every result."""

    name: ClassVar[str]

    def __post_init__(self) -> None:
        for name, field_spec, value in self.values():
            if value is not None:
                CHECKS[field_spec.kind](name, value)

    @classmethod
    def specs(cls) -> Iterator[tuple[str, FieldSpec, Any]]:
        """Each field's name, spec and default (``REQUIRED`` when it has none)."""
        for declared in dataclasses.fields(cls):
            yield declared.name, declared.metadata["spec"], declared.default

    def values(self) -> Iterator[tuple[str, FieldSpec, Any]]:
        for name, field_spec, _ in self.specs():
            yield name, field_spec, getattr(self, name)

    def arguments(self) -> dict[str, Any]:
        return {name: value for name, _, value in self.values()}

    def fingerprint(self) -> str:
        """What a retried request with the same idempotency key must repeat exactly."""
        body = json.dumps({"command": self.name, "args": self.arguments()}, sort_keys=True, default=str)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- scores


@dataclass(frozen=True)
class RecordCallAttempt(Command):
    """Record a call attempt; the scoring rule turns its outcome into a score change."""

    name: ClassVar[str] = "record_call_attempt"
    user_id: int = spec(Kind.USER_ID, "The app's user id", example=10005)
    agent_id: int = spec(Kind.INT, "The agent who called", example=7)
    outcome: str = spec(Kind.SHORT, "e.g. answered, no_answer, voicemail", example="answered")
    called_at: datetime | None = spec(Kind.MOMENT, "When the call was made; default now", default=None)


@dataclass(frozen=True)
class AdjustScore(Command):
    """Add points to (or take points from) a user's score (Python API only)."""

    name: ClassVar[str] = "adjust_score"
    user_id: int = spec(Kind.USER_ID, "The app's user id")
    delta: int = spec(Kind.INT, "Points to add (negative to take away)")
    reason: str | None = spec(Kind.TEXT, "Why", default=None)


@dataclass(frozen=True)
class ResetScore(Command):
    """Reset a user's score to zero."""

    name: ClassVar[str] = "reset_score"
    user_id: int = spec(Kind.USER_ID, "The app's user id", target=True, example=10005)
    reason: str | None = spec(Kind.TEXT, "Why", default=None, example="new campaign")


# ---------------------------------------------------------------------------- queue


@dataclass(frozen=True)
class Enqueue(Command):
    """Put a user in a queue."""

    name: ClassVar[str] = "enqueue"
    user_id: int = spec(Kind.USER_ID, "The app's user id", example=10005)
    queue_type: str = spec(Kind.QUEUE_TYPE, "unsigned_users or outstanding_requests", example="unsigned_users")
    priority_score: int = spec(Kind.INT, "Higher comes first", default=0, example=10)
    reason: str | None = spec(Kind.TEXT, "Why the user is queued", default=None)
    entry_id: str | None = spec(Kind.SHORT, "Your own id for the row; generated when absent", default=None)


@dataclass(frozen=True)
class Assign(Command):
    """Assign an open entry to an agent."""

    name: ClassVar[str] = "assign"
    entry_id: str = spec(Kind.SHORT, "The queue entry", target=True, argument=True)
    agent_id: int = spec(Kind.INT, "The agent", example=7)


@dataclass(frozen=True)
class ScheduleCallback(Command):
    """Schedule (or move) a callback on an open entry."""

    name: ClassVar[str] = "schedule_callback"
    entry_id: str = spec(Kind.SHORT, "The queue entry", target=True, argument=True)
    scheduled_for: datetime = spec(Kind.MOMENT, "When to call back", example="2026-12-01T09:30:00Z")
    reason: str | None = spec(Kind.TEXT, "Why", default=None)
    callback_id: str | None = spec(Kind.SHORT, "Your own id for the callback; generated when absent", default=None)


@dataclass(frozen=True)
class _EntryCommandWithReason(Command):
    """The shape of the commands that act on one entry with an optional reason."""

    entry_id: str = spec(Kind.SHORT, "The queue entry", target=True, argument=True)
    reason: str | None = spec(Kind.TEXT, "Why", default=None)


@dataclass(frozen=True)
class ClearCallback(_EntryCommandWithReason):
    """Clear an entry's callback."""

    name: ClassVar[str] = "clear_callback"


@dataclass(frozen=True)
class Complete(_EntryCommandWithReason):
    """Complete an open entry."""

    name: ClassVar[str] = "complete"


@dataclass(frozen=True)
class Cancel(_EntryCommandWithReason):
    """Cancel an open entry."""

    name: ClassVar[str] = "cancel"


# ---------------------------------------------------------------------------- conversions


@dataclass(frozen=True)
class RecordConversion(Command):
    """Record a conversion; deactivates the user's score and completes their open queue
    entries, atomically."""

    name: ClassVar[str] = "record_conversion"
    user_id: int = spec(Kind.USER_ID, "The app's user id", example=10005)
    conversion_type: str = spec(Kind.SHORT, "e.g. signed, documents_complete", example="signed")
    conversion_reason: str | None = spec(Kind.TEXT, "Why", default=None, aliases=("--reason",))
    primary_agent_id: int | None = spec(Kind.INT, "The agent credited", default=None, example=7)
    documents_received: Any = spec(Kind.JSON, "Which documents arrived", default=None, example=["id", "payslip"])
    signature_obtained: bool = spec(Kind.FLAG, "Whether the client signed", default=False, example=True)
    requirements_met: Any = spec(Kind.JSON, "Which requirements are met", default=None, example={"kyc": True})
    claim_value: Decimal | str | None = spec(Kind.MONEY, "Exact decimal, e.g. 1250.00", default=None, example="1250.00")
    estimated_commission: Decimal | str | None = spec(Kind.MONEY, "Exact decimal", default=None, example="125.00")
    converted_at: datetime | None = spec(Kind.MOMENT, "When; default now", default=None)
    conversion_id: str | None = spec(Kind.SHORT, "Your own id for the row; generated when absent", default=None)


@dataclass(frozen=True)
class ReverseConversion(Command):
    """Reverse a conversion (the user becomes active again)."""

    name: ClassVar[str] = "reverse_conversion"
    conversion_id: str = spec(Kind.SHORT, "The conversion", target=True, argument=True)
    reason: str = spec(Kind.REQUIRED_TEXT, "Why", example="client withdrew")


COMMANDS: tuple[type[Command], ...] = (
    RecordCallAttempt,
    AdjustScore,
    ResetScore,
    Enqueue,
    Assign,
    ScheduleCallback,
    ClearCallback,
    Complete,
    Cancel,
    RecordConversion,
    ReverseConversion,
)
