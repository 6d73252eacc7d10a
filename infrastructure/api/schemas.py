"""Request and response bodies. Pydantic lives here, at the edge, and nowhere inside.

Command bodies are derived from the command dataclasses (``domain/commands.py``): each
field's kind maps to one annotated pydantic type below, and the fields that name the record
a command acts on travel in the path instead. Money travels as decimal strings ("1250.00"),
never as JSON numbers, so nothing is rounded through a float; the domain checks precision
and range again. Datetimes travel as ISO-8601 text only (pydantic would take a unix
timestamp), parsed as the CLI parses them. The limits are the domain's constants.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, create_model

from domain.commands import REQUIRED, Command, FieldSpec, Kind
from domain.errors import InvalidValue
from domain.values import (
    BIGINT_MAX,
    BIGINT_MIN,
    INT_MAX,
    INT_MIN,
    MONEY_TEXT,
    TEXT_MAX_BYTES,
    VARCHAR_MAX_CHARS,
    QueueType,
    parse_moment,
)

BIGINT = Annotated[int, Field(ge=BIGINT_MIN, le=BIGINT_MAX, strict=True)]
INT = Annotated[int, Field(ge=INT_MIN, le=INT_MAX, strict=True)]
MONEY = Annotated[
    str,
    StringConstraints(pattern=f"^{MONEY_TEXT}$"),
    Field(description="Exact decimal as a string, at most 8 digits before and 2 after the point"),
]
SHORT = Annotated[str, StringConstraints(min_length=1, max_length=VARCHAR_MAX_CHARS)]
TEXT = Annotated[str, StringConstraints(max_length=TEXT_MAX_BYTES)]  # the domain counts the bytes


def _moment(value: object) -> datetime:
    try:
        return parse_moment("", value)
    except InvalidValue as invalid:  # pydantic names the field
        raise ValueError(invalid.reason) from None


MOMENT = Annotated[
    datetime,
    BeforeValidator(_moment),
    Field(description="ISO-8601 text; a zone is converted to UTC; years 1000-9999 in UTC"),
]
QUEUE_TYPE_PATTERN = "^(" + "|".join(sorted(QueueType.ALL)) + ")$"

BODY_TYPES: dict[Kind, Any] = {
    Kind.USER_ID: BIGINT,
    Kind.INT: INT,
    Kind.SHORT: SHORT,
    Kind.TEXT: TEXT,
    Kind.REQUIRED_TEXT: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX_BYTES)],
    Kind.MONEY: MONEY,
    Kind.JSON: Any,
    Kind.FLAG: Annotated[bool, Field(strict=True)],
    Kind.MOMENT: MOMENT,
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
