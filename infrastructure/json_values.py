"""Values as JSON that another system reads exactly: datetimes in UTC, RFC 3339 with
milliseconds and ``Z`` (a naive datetime is UTC: the tracker's row datetimes are), decimals
and ids as strings, bytes as hex. Used by ``export``, a user's history and the HTTP
answers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


def utc_milliseconds(moment: datetime) -> str:
    """``2025-05-06T07:08:09.123Z`` (a naive datetime is taken as UTC: the tables hold UTC
    without a zone); the year always has four digits."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"


def json_value(value: Any) -> Any:
    """``json.dumps``'s ``default``: a value JSON has no type for, as text."""
    if isinstance(value, datetime):
        return utc_milliseconds(value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def plain_json(value: Any) -> Any:
    """``value`` with every nested value JSON has no type for replaced by ``json_value``."""
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return json_value(value)
