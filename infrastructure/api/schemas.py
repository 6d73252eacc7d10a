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
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, WithJsonSchema, create_model

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

BIGINT = Annotated[int, Field(ge=BIGINT_MIN, le=BIGINT_MAX, strict=True, json_schema_extra={"format": "int64"})]
INT = Annotated[int, Field(ge=INT_MIN, le=INT_MAX, strict=True, json_schema_extra={"format": "int32"})]
MONEY_PATTERN = f"^{MONEY_TEXT}$"
MONEY = Annotated[
    str,
    StringConstraints(pattern=MONEY_PATTERN),
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
QUEUE_TYPES = tuple(sorted(QueueType.ALL))
QUEUE_TYPE = Annotated[Literal[QUEUE_TYPES], Field(description="The queue: " + " or ".join(QUEUE_TYPES))]  # type: ignore[valid-type]
JSON_VALUE_SCHEMA = {
    "type": ["object", "array", "string", "number", "boolean", "null"],
    "description": "Any JSON value, nested at most 31 levels, at most 1 MiB as text",
}
JSON_VALUE = Annotated[Any, WithJsonSchema(JSON_VALUE_SCHEMA)]
PATTERN_WORDS = {
    MONEY_PATTERN: "must be an exact decimal as a string, at most 8 digits before and 2 after the point "
    '(e.g. "1250.00")',
}

BODY_TYPES: dict[Kind, Any] = {
    Kind.USER_ID: BIGINT,
    Kind.INT: INT,
    Kind.SHORT: SHORT,
    Kind.TEXT: TEXT,
    Kind.REQUIRED_TEXT: Annotated[str, StringConstraints(min_length=1, max_length=TEXT_MAX_BYTES)],
    Kind.MONEY: MONEY,
    Kind.JSON: JSON_VALUE,
    Kind.FLAG: Annotated[bool, Field(strict=True)],
    Kind.MOMENT: MOMENT,
    Kind.QUEUE_TYPE: QUEUE_TYPE,
}
PATH_TYPES: dict[Kind, Any] = {
    Kind.USER_ID: Annotated[int, Path(ge=BIGINT_MIN, le=BIGINT_MAX, json_schema_extra={"format": "int64"})],
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


KIND_EXAMPLES = {Kind.TEXT: "as agreed with the client"}


def body_example(command: type[Command]) -> dict[str, Any]:
    """An example body: each field's declared example (``spec(..., example=)``); a body whose
    fields declare none shows its first text field with a kind's example instead of ``{}``."""
    fields = [(name, field_spec) for name, field_spec, _ in command.specs() if not field_spec.target]
    example = {name: spec.example for name, spec in fields if spec.example is not None}
    if not example:
        example = {name: KIND_EXAMPLES[spec.kind] for name, spec in fields if spec.kind in KIND_EXAMPLES}
    return example
