"""Request and response bodies. Pydantic lives here, at the edge, and nowhere inside.

Money travels as decimal strings ("1250.00"), never as JSON numbers, so nothing is
rounded through a float; the domain checks precision and range again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

BIGINT = Annotated[int, Field(ge=-(2**63), le=2**63 - 1, strict=True)]
INT = Annotated[int, Field(ge=-(2**31), le=2**31 - 1, strict=True)]
MONEY = Annotated[
    str,
    StringConstraints(pattern=r"^-?\d{1,8}(\.\d{1,2})?$"),
    Field(
        description="Exact decimal as a string, at most 8 digits before and 2 after the point",
        examples=["1250.00"],
    ),
]
SHORT = Annotated[str, StringConstraints(min_length=1, max_length=191)]
TEXT = Annotated[str, StringConstraints(max_length=65_535)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordConversion(Body):
    user_id: BIGINT
    conversion_type: SHORT
    conversion_reason: TEXT | None = None
    primary_agent_id: INT | None = None
    documents_received: Any = None
    signature_obtained: Annotated[bool, Field(strict=True)] = False
    requirements_met: Any = None
    claim_value: MONEY | None = None
    estimated_commission: MONEY | None = None
    converted_at: datetime | None = None
    conversion_id: SHORT | None = Field(None, description="Your own id for the row; generated when absent")


class ReverseConversion(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=65_535)]


class RecordCallAttempt(Body):
    user_id: BIGINT
    agent_id: INT
    outcome: SHORT
    called_at: datetime | None = None


class Enqueue(Body):
    user_id: BIGINT
    queue_type: Annotated[str, Field(pattern=r"^(unsigned_users|outstanding_requests)$")]
    priority_score: INT = 0
    reason: TEXT | None = None
    entry_id: SHORT | None = None


class Assign(Body):
    agent_id: INT


class Reason(Body):
    reason: TEXT | None = None


class ScheduleCallback(Body):
    scheduled_for: datetime
    reason: TEXT | None = None
    callback_id: SHORT | None = None


class CommandResponse(BaseModel):
    command: str
    ids: dict[str, str]
    position: int | None = Field(description="Pass as min_position to a query to read your own write")
    replayed: bool = Field(description="True when this answers a retried Idempotency-Key")


class ErrorResponse(BaseModel):
    error: str
    detail: str
    field: str | None = None
