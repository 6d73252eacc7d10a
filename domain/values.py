"""Value rules shared by the aggregates: column limits, money, time, queue vocabulary."""

from __future__ import annotations

import json
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
CENT = Decimal("0.01")


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
    """A JSON column value: anything JSON can represent exactly (no floats lost, no NaN)."""
    if value is None:
        return None
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise InvalidValue(field_name, f"must be JSON: {error}") from None
    return value


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
