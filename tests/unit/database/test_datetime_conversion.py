"""The DATETIME converter given to PyMySQL returns exactly what PyMySQL's own would,
for every string the server can send and for strings it should not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pymysql.converters
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.database import datetime_from_server

MOMENTS = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999))


def as_server_sends(moment: datetime, digits: int) -> str:
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return text + ("." + f"{moment.microsecond:06d}"[:digits] if digits else "")


@settings(max_examples=2000)
@given(MOMENTS, st.integers(min_value=0, max_value=6), st.booleans())
def test_every_datetime_the_server_sends_converts_as_pymysql_converts_it(
    moment: datetime, digits: int, as_bytes: bool
) -> None:
    text = as_server_sends(moment, digits)
    value = text.encode() if as_bytes else text
    ours = datetime_from_server(value)
    assert ours == pymysql.converters.convert_datetime(value)
    assert type(ours) is datetime


@settings(max_examples=2000)
@given(st.text(alphabet="0123456789-: .T+Zx", min_size=0, max_size=30))
def test_anything_else_converts_as_pymysql_converts_it(text: str) -> None:
    assert outcome(datetime_from_server, text) == outcome(pymysql.converters.convert_datetime, text)


def outcome(convert: Callable[[str], object], text: str) -> tuple[object, ...]:
    """The value and its type, or the type of the error (PyMySQL raises for some garbage)."""
    try:
        value = convert(text)
    except Exception as error:
        return ("raised", type(error))
    return ("returned", value, type(value))


def test_zero_and_invalid_dates_come_back_unchanged_as_pymysql_returns_them() -> None:
    for text in ("0000-00-00 00:00:00", "2024-00-10 00:00:00", "2024-02-30 10:00:00.123"):
        assert datetime_from_server(text) == pymysql.converters.convert_datetime(text) == text
