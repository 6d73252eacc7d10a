"""Response bodies, one named model per shape. Numeric columns are JSON numbers (BIGINT
ids too: ``format: int64``), money is an exact decimal string, every datetime is RFC 3339
in UTC with milliseconds and ``Z``, JSON columns are any JSON value, and every list comes
in one envelope (:class:`Page`). Rows of the legacy tables may carry extra legacy columns,
so their models allow additional members."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypedDict

from infrastructure.api.problems import Problem
from infrastructure.api.schemas import JSON_VALUE

TIMESTAMP_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
Timestamp = Annotated[
    str,
    Field(
        pattern=TIMESTAMP_PATTERN,
        json_schema_extra={"format": "date-time"},
        examples=["2026-11-24T10:11:12.345Z"],
        description="RFC 3339, UTC, milliseconds",
    ),
]
Decimal2 = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["1250.00"], description="Exact decimal")]
BigInt = Annotated[int, Field(json_schema_extra={"format": "int64"})]
Int = Annotated[int, Field(json_schema_extra={"format": "int32"})]
Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a list: ``items``, the ``limit`` and ``offset`` asked for, and the
    ``next_offset`` to ask for the next page (null on the last one, when ``has_more`` is false)."""

    items: list[Item]
    limit: int
    offset: int
    next_offset: int | None
    has_more: bool


class ScoreRow(BaseModel):
    """A row of ``user_call_scores`` (plus any extra legacy column)."""

    model_config = ConfigDict(extra="allow")
    id: str
    user_id: BigInt
    current_score: Int
    total_attempts: Int
    last_call_outcome: str | None
    last_call_at: Timestamp | None
    created_at: Timestamp
    updated_at: Timestamp
    is_active: bool | None
    current_queue_type: str | None
    last_reset_date: Timestamp | None
    last_queue_check: Timestamp | None


class QueueEntry(BaseModel):
    """A row of ``call_queue`` (plus any extra legacy column)."""

    model_config = ConfigDict(extra="allow")
    id: str
    user_id: BigInt
    queue_type: str
    priority_score: Int
    status: str = Field(examples=["pending"])
    assigned_to_agent_id: Int | None
    assigned_at: Timestamp | None
    queue_reason: str | None
    created_at: Timestamp
    updated_at: Timestamp
    callback_id: str | None
    callback_scheduled_for: Timestamp | None
    callback_reason: str | None


class ConversionRow(BaseModel):
    """A row of ``conversions``."""

    id: str
    user_id: BigInt
    previous_queue_type: str
    conversion_type: str
    conversion_reason: str | None
    final_score: Int | None
    total_call_attempts: Int
    last_call_at: Timestamp | None
    converted_at: Timestamp
    primary_agent_id: Int | None
    contributing_agents: JSON_VALUE = Field(description="The agents who called the user (JSON)")
    documents_received: JSON_VALUE
    signature_obtained: bool
    requirements_met: JSON_VALUE
    claim_value: Decimal2 | None
    estimated_commission: Decimal2 | None


class AgentTotals(BaseModel):
    """Conversions credited to one primary agent (null: to none), with exact money sums."""

    agent_id: Int | None
    conversions: int
    claim_value: Decimal2
    estimated_commission: Decimal2


class QueuePage(Page[QueueEntry]):
    queue_type: str = Field(description="The queue listed")


class ConversionPage(Page[ConversionRow]):
    pass


class TotalsPage(Page[AgentTotals]):
    pass


class CommandIds(TypedDict, total=False):
    """The ids a command touched (only those it has)."""

    user_id: BigInt
    entry_id: str
    score_id: str
    callback_id: str
    conversion_id: str
    completed_entries: list[str]


class CommandResult(BaseModel):
    command: str = Field(examples=["record_conversion"])
    ids: CommandIds
    position: int | None = Field(description="Pass as min_position to a query to read your own write")
    replayed: bool = Field(description="True when this answers a retried Idempotency-Key")


class Stuck(BaseModel):
    position: int
    detail: str


class Health(BaseModel):
    """Facts about the store and the projections (null where the store did not answer)."""

    store: str = Field(examples=["reachable"], description="reachable or unreachable")
    phase: str | None = Field(examples=["cut_over"])
    head: int | None = Field(description="Position of the newest event")
    projected: int | None = Field(description="Position the live projection has applied")
    lag: int | None
    queries: str = Field(examples=["available"])
    stuck: Stuck | None = Field(description="The event the live projection cannot apply, if any")
    detail: str | None = Field(description="Why the store is unreachable")


class NotReady(Problem, Health):
    """Why the worker is not ready (/ready's 503): a problem carrying the facts of /health."""

    model_config = ConfigDict(title="NotReady", extra="allow")


def typed_ids(ids: dict[str, Any]) -> dict[str, Any]:
    """The service layer's ids as JSON types: ``user_id`` a number (text in the service
    layer and its idempotency records); ``completed_entries`` is a list, or, in an
    idempotency record stored before it was one, comma-joined text."""
    typed: dict[str, Any] = dict(ids)
    if "user_id" in typed:
        typed["user_id"] = int(typed["user_id"])
    if isinstance(typed.get("completed_entries"), str):
        typed["completed_entries"] = [e for e in typed["completed_entries"].split(",") if e]
    return typed


class RowChange(BaseModel):
    """What an event wrote to its row of the projected tables."""

    kind: Literal["insert", "update", "delete", "none"]
    values: dict[str, Any] = Field(description="The columns the event sets (insert: the whole row)")


class HistoryItem(BaseModel):
    """One event that touched the user, with who recorded it and for which request."""

    position: int = Field(description="The event's position in the store: the order recorded")
    at: Timestamp = Field(description="When it was recorded")
    aggregate: str = Field(examples=["UserCallScore"])
    event: str = Field(examples=["CallAttemptRecorded"])
    row_id: str
    actor: str | None = Field(description="API key name, operator user@host, or bootstrap:<operator>")
    request_id: str | None
    idempotency_key: str | None
    change: RowChange
    data: dict[str, Any] = Field(description="The event's own fields (a seed's `row` is the legacy row as read)")


class HistoryPage(Page[HistoryItem]):
    """A page of a user's history, oldest first."""

    user_id: BigInt
