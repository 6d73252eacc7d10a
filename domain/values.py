"""Value rules shared by the aggregates: column limits, money, time, queue vocabulary."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.errors import InvalidValue

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
VARCHAR_MAX_CHARS = 191
TEXT_MAX_BYTES = 65_535
MONEY_MAX = Decimal("99999999.99")  # DECIMAL(10,2)
MONEY_TEXT = r"-?[0-9]{1,8}(\.[0-9]{1,2})?"
"""Money as text, on every edge: ASCII digits only (``\\d`` would take "٣٤.٥٠"), no
exponent ("1e3"), no spaces or underscores, at most 8 digits before and 2 after the point."""
CENT = Decimal("0.01")
JSON_MAX_DEPTH = 31
"""Nesting of arrays and objects a JSON column accepts: MariaDB's JSON_VALID (its CHECK on
JSON columns) refuses 32 levels or more (json_lib's JSON_DEPTH_LIMIT; measured on 10.11)."""
JSON_MAX_BYTES = 1 << 20
"""A JSON value's text (UTF-8): at most 1 MiB, the HTTP body limit, so the CLI and the
Python API cannot record what the HTTP API would refuse; far below max_allowed_packet."""


class QueueType:
    UNSIGNED_USERS = "unsigned_users"
    OUTSTANDING_REQUESTS = "outstanding_requests"
    LEGACY_CALLBACK = "callback"  # no longer a queue type: a callback carried by an entry
    ALL = frozenset({UNSIGNED_USERS, OUTSTANDING_REQUESTS})


class EntryStatus:
    PENDING = "pending"
    ASSIGNED = "assigned"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    CLOSED = frozenset({COMPLETED, CANCELLED})


NO_QUEUE = "none"
"""previous_queue_type recorded for a user who was in no queue when converted (column is NOT NULL)."""


def row_time(moment: datetime) -> datetime:
    """A naive UTC datetime truncated to milliseconds, as a DATETIME(3) column stores it.

    MariaDB truncates extra digits and MySQL 8 rounds them; truncating here makes both
    store the same value and the event carry exactly what the row holds.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


DATETIME_MIN = datetime(1000, 1, 1)
DATETIME_MAX = datetime(9999, 12, 31, 23, 59, 59, 999000)


def check_datetime(field_name: str, value: object) -> datetime:
    """A moment a DATETIME(3) column can hold (years 1000 to 9999), as naive UTC, in ms."""
    if not isinstance(value, datetime):
        raise InvalidValue(field_name, f"must be a date and time, got {type(value).__name__}")
    try:
        moment = row_time(value)
    except OverflowError:  # a zone offset that takes the moment past year 1 or 9999 in UTC
        raise InvalidValue(field_name, "must be between the years 1000 and 9999") from None
    if not DATETIME_MIN <= moment <= DATETIME_MAX:
        raise InvalidValue(field_name, "must be between the years 1000 and 9999")
    return moment


def parse_moment(field_name: str, text: object) -> datetime:
    """A moment given as ISO-8601 text, as every edge takes it (never a number: a unix
    timestamp is refused), checked as :func:`check_datetime` checks it."""
    if not isinstance(text, str):
        raise InvalidValue(field_name, f"must be an ISO-8601 date and time as text, got {type(text).__name__}")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidValue(field_name, f"not an ISO-8601 date and time: {text!r:.40}") from None
    check_datetime(field_name, moment)
    return moment


def utc_now() -> datetime:
    return row_time(datetime.now(UTC))


def check_int(field_name: str, value: object, lo: int = INT_MIN, hi: int = INT_MAX) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidValue(field_name, f"must be a whole number, got {value!r:.60}")
    if not lo <= value <= hi:
        raise InvalidValue(field_name, f"must be between {lo} and {hi}, got {value}")
    return value


def check_user_id(value: object) -> int:
    return check_int("user_id", value, BIGINT_MIN, BIGINT_MAX)


def check_varchar(field_name: str, value: object, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field_name, f"must be text, got {type(value).__name__}")
    if required and not value.strip():
        raise InvalidValue(field_name, "must not be empty")
    if len(value) > VARCHAR_MAX_CHARS:
        raise InvalidValue(field_name, f"must be at most {VARCHAR_MAX_CHARS} characters")
    _check_encodable(field_name, value)
    return value


def check_text(field_name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidValue(field_name, f"must be text, got {type(value).__name__}")
    if len(_check_encodable(field_name, value)) > TEXT_MAX_BYTES:
        raise InvalidValue(field_name, f"must be at most {TEXT_MAX_BYTES} bytes of UTF-8")
    return value


def _check_encodable(field_name: str, value: str) -> bytes:
    try:
        encoded = value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(field_name, "contains characters that are not valid UTF-8") from None
    if "\x00" in value:
        raise InvalidValue(field_name, "must not contain NUL characters")
    return encoded


def check_money(field_name: str, value: object) -> Decimal | None:
    """Exact money: a Decimal (or decimal string/int) with at most two places, never a float."""
    if value is None:
        return None
    if isinstance(value, float | bool):
        raise InvalidValue(field_name, "must be an exact decimal (send a string), not a float")
    if isinstance(value, str) and not re.fullmatch(MONEY_TEXT, value):
        raise InvalidValue(field_name, f"must be a decimal like 1250.00 (ASCII digits), got {value!r:.40}")
    try:
        amount = Decimal(value) if isinstance(value, int | str) else value
    except InvalidOperation:
        raise InvalidValue(field_name, f"is not a decimal number: {value!r:.40}") from None
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise InvalidValue(field_name, "must be a finite decimal number")
    if amount != amount.quantize(CENT, rounding="ROUND_DOWN"):
        raise InvalidValue(field_name, "must have at most two decimal places")
    if abs(amount) > MONEY_MAX:
        raise InvalidValue(field_name, f"must be at most {MONEY_MAX} in absolute value")
    return amount.quantize(CENT)


def check_json(field_name: str, value: object) -> Any:
    """A JSON column value: anything JSON can represent exactly (no floats lost, no NaN),
    nested at most ``JSON_MAX_DEPTH`` levels, at most ``JSON_MAX_BYTES`` of text."""
    if value is None:
        return None
    if json_depth(value, JSON_MAX_DEPTH + 1) > JSON_MAX_DEPTH:
        raise InvalidValue(field_name, f"must be nested at most {JSON_MAX_DEPTH} levels deep")
    try:
        size = len(json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError) as error:  # UnicodeEncodeError (a lone surrogate) is a ValueError
        raise InvalidValue(field_name, f"must be JSON: {error}") from None
    if size > JSON_MAX_BYTES:
        raise InvalidValue(field_name, f"must be at most {JSON_MAX_BYTES} bytes as JSON text")
    return value


def json_depth(value: object, stop_at: int) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0, ``[]`` is 1),
    counted without recursion and no further than ``stop_at``."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack and deepest < stop_at:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in children)
    return deepest


def clamp_score(score: int) -> int:
    """Scores live in an INTEGER column: arithmetic saturates instead of overflowing."""
    return max(INT_MIN, min(INT_MAX, score))


@dataclass(frozen=True)
class ScoringRule:
    """How a call attempt's outcome changes a user's score.

    The delta is computed when the attempt is recorded and stored in the event, so a
    later change of rule never rewrites history. ``deltas`` maps an outcome to points;
    outcomes not listed score ``default_delta``.
    """

    deltas: dict[str, int] = field(
        default_factory=lambda: {
            "answered": 5,
            "callback_requested": 3,
            "documents_promised": 10,
            "no_answer": -1,
            "busy": -1,
            "voicemail": -2,
            "not_interested": -10,
            "wrong_number": -25,
        }
    )
    default_delta: int = 0

    def delta_for(self, outcome: str) -> int:
        return self.deltas.get(outcome, self.default_delta)
