"""The value rules every edge shares (domain/values.py): what they accept is what the
projected tables can hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from domain.errors import InvalidValue
from domain.values import (
    JSON_MAX_BYTES,
    JSON_MAX_DEPTH,
    check_datetime,
    check_json,
    check_money,
    json_depth,
    parse_moment,
)


def nested(depth: int) -> object:
    value: object = []
    for _ in range(depth - 1):
        value = [value]
    return value


REFUSED_MONEY = ["1e3", "٣٤.٥٠", "１２", " 12.00", "12.00 ", "1_000", "1.00\n", "+1.00", ".5", "1.", ""]


@pytest.mark.parametrize("text", REFUSED_MONEY)
def test_money_text_is_ascii_digits_with_at_most_two_places_and_nothing_else(text: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        check_money("claim_value", text)
    assert refused.value.field == "claim_value"


@pytest.mark.parametrize(("text", "amount"), [("0", "0.00"), ("-12.5", "-12.50"), ("99999999.99", "99999999.99")])
def test_money_text_within_the_rule_is_exact(text: str, amount: str) -> None:
    assert check_money("claim_value", text) == Decimal(amount)


def test_json_nesting_is_counted_in_containers_without_recursion() -> None:
    assert json_depth(1, 99) == 0 and json_depth([], 99) == 1 and json_depth({"a": [1]}, 99) == 2
    assert json_depth(nested(100_000), JSON_MAX_DEPTH + 1) == JSON_MAX_DEPTH + 1  # stops early


def test_json_deeper_than_mariadb_accepts_or_larger_than_a_mebibyte_is_refused() -> None:
    assert check_json("documents_received", nested(JSON_MAX_DEPTH)) == nested(JSON_MAX_DEPTH)
    for value in (nested(JSON_MAX_DEPTH + 1), nested(5_000), ["x" * JSON_MAX_BYTES], ["\ud800"], float("nan")):
        with pytest.raises(InvalidValue) as refused:
            check_json("documents_received", value)
        assert refused.value.field == "documents_received"
    assert check_json("documents_received", ["x" * (JSON_MAX_BYTES - 4)]) is not None  # '["' + … + '"]'


@pytest.mark.parametrize(
    "moment",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),  # year 10000 in UTC
        datetime(1000, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),  # year 999 in UTC
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))),  # before year 1 in UTC: OverflowError
    ],
)
def test_a_moment_outside_datetime3_after_conversion_to_utc_is_refused(moment: datetime) -> None:
    with pytest.raises(InvalidValue) as refused:
        check_datetime("converted_at", moment)
    assert refused.value.field == "converted_at"


def test_moments_are_taken_only_as_iso_8601_text() -> None:
    assert parse_moment("called_at", "2026-11-24T10:11:12.345Z") == datetime(2026, 11, 24, 10, 11, 12, 345000, UTC)
    for value in (1_764_547_200, 1_764_547_200.5, "yesterday", "9999-12-31T23:59:59-05:00", None):
        with pytest.raises(InvalidValue) as refused:
            parse_moment("called_at", value)
        assert refused.value.field == "called_at"
