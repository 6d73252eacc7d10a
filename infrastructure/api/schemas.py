"""Request and response bodies. Pydantic lives here, at the edge, and nowhere inside.

Command bodies are derived from the command dataclasses (``domain/commands.py``): each
field's kind maps to one annotated pydantic type below, and the fields that name the record
a command acts on travel in the path instead. Money travels as decimal strings ("1250.00"),
never as JSON numbers, so nothing is rounded through a float; the domain checks precision
and range again.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from domain.commands import REQUIRED, Command, FieldSpec, Kind
from domain.values import BIGINT_MAX, BIGINT_MIN, INT_MAX, INT_MIN, VARCHAR_MAX_CHARS, QueueType

BIGINT = Annotated[int, Field(ge=BIGINT_MIN, le=BIGINT_MAX, strict=True)]
INT = Annotated[int, Field(ge=INT_MIN, le=INT_MAX, strict=True)]
MONEY = Annotated[
    str,
    StringConstraints(pattern=r"^-?\d{1,8}(\.\d{1,2})?$"),
    Field(description="Exact decimal as a string, at most 8 digits before and 2 after the point"),
]
SHORT = Annotated[str, StringConstraints(min_length=1, max_length=VARCHAR_MAX_CHARS)]
TEXT = Annotated[str, StringConstraints(max_length=65_535)]
QUEUE_TYPE_PATTERN = "^(" + "|".join(sorted(QueueType.ALL)) + ")$"

BODY_TYPES: dict[Kind, Any] = {
    Kind.USER_ID: BIGINT,
    Kind.INT: INT,
    Kind.SHORT: SHORT,
    Kind.TEXT: TEXT,
    Kind.REQUIRED_TEXT: Annotated[str, StringConstraints(min_length=1, max_length=65_535)],
    Kind.MONEY: MONEY,
    Kind.JSON: Any,
    Kind.FLAG: Annotated[bool, Field(strict=True)],
    Kind.MOMENT: datetime,
    Kind.QUEUE_TYPE: Annotated[str, Field(pattern=QUEUE_TYPE_PATTERN)],
}
PATH_TYPES: dict[Kind, Any] = {
    Kind.USER_ID: Annotated[int, Path(ge=BIGINT_MIN, le=BIGINT_MAX)],
    Kind.SHORT: Annotated[str, Path(min_length=1, max_length=VARCHAR_MAX_CHARS)],
}


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _body_field(field_spec: FieldSpec, default: Any) -> tuple[Any, Any]:
    kind_type = BODY_TYPES[field_spec.kind]
    info = Field(
        default,
        description=field_spec.help or None,
        examples=None if field_spec.example is None else [field_spec.example],
    )
    if default is None:
        kind_type = kind_type | None
    return (kind_type, info)


@cache
def body_model(command: type[Command]) -> type[Body]:
    """The HTTP body of a command: its fields less the one in the path."""
    fields = {
        name: _body_field(field_spec, ... if default is REQUIRED else default)
        for name, field_spec, default in command.specs()
        if not field_spec.target
    }
    model: type[Body] = create_model(command.__name__, __base__=Body, __doc__=command.__doc__, **fields)
    return model


class CommandResponse(BaseModel):
    command: str
    ids: dict[str, str]
    position: int | None = Field(description="Pass as min_position to a query to read your own write")
    replayed: bool = Field(description="True when this answers a retried Idempotency-Key")


class ErrorResponse(BaseModel):
    error: str
    detail: str
    field: str | None = None
