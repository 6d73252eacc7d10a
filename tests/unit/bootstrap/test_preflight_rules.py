"""The preflight's rules that need no database: which column types the tracker carries,
and what a refusal says to do about the others."""

from __future__ import annotations

import pytest

from bootstrap.legacy_source import carried_exactly
from bootstrap.preflight import CALLBACK_REASON_MAX_BYTES, _rows, _type_hint

REFUSED = {
    "bit(1)": "TINYINT",
    "time": "VARCHAR(20)",
    "time(3)": "VARCHAR(20)",
    "year(4)": "SMALLINT",
    "inet6": "VARCHAR(39)",
    "uuid": "CHAR(36)",
    "point": "ST_AsText",
    "int(10) unsigned zerofill": "ZEROFILL",
}


@pytest.mark.parametrize("declared", list(REFUSED))
def test_types_without_an_exact_round_trip_are_refused_with_the_conversion_to_make(declared: str) -> None:
    assert not carried_exactly(declared)
    assert REFUSED[declared] in _type_hint(declared)


@pytest.mark.parametrize(
    "declared", ["int(11)", "bigint(20) unsigned", "varchar(191)", "datetime(3)", "decimal(12,4)", "enum('a','b')"]
)
def test_the_usual_types_are_carried(declared: str) -> None:
    assert carried_exactly(declared)


def test_a_refusal_names_five_rows_and_counts_the_rest() -> None:
    assert _rows(["a", "b"], 2) == "ids a, b"
    assert _rows(list(range(1, 6)), 40, "user_ids") == "user_ids 1, 2, 3, 4, 5 and 35 more"


def test_the_callback_reason_limit_is_the_guides_text_column() -> None:
    assert CALLBACK_REASON_MAX_BYTES == 65_535
