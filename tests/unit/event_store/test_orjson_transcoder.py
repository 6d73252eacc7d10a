"""The orjson-reading transcoder gives exactly what the library's own decoder gives,
for every value the event store can hold, and falls back where orjson refuses."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import JSONTranscoder, TranscodingNotRegisteredError
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.event_store.orjson_transcoder import OrjsonReadingTranscoder
from infrastructure.event_store.transcodings import register_extra_transcodings


def registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    Application.register_transcodings(None, transcoder)  # type: ignore[arg-type]
    register_extra_transcodings(transcoder)
    return transcoder


LIBRARY = registered(JSONTranscoder())
OURS = registered(OrjsonReadingTranscoder())

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"])),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(timezones=st.one_of(st.none(), st.just(UTC), st.just(timezone(timedelta(hours=-5))))),
    st.dates(),
    st.uuids(),
    st.binary(max_size=40),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=25,
)


def same(left: Any, right: Any) -> bool:
    """Equal, with the same types all the way down (1 == 1.0 == True is not enough)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float):
        return math.isnan(right) if math.isnan(left) else repr(left) == repr(right)  # -0.0 is not 0.0
    if isinstance(left, Decimal):
        return str(left) == str(right)  # keeps the exponent: 1.10 is not 1.1
    return bool(left == right)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=10), values, max_size=6))
def test_decodes_exactly_what_the_library_decodes(state: dict[str, Any]) -> None:
    data = LIBRARY.encode(state)
    assert OURS.encode(state) == data  # writing is the library's
    assert same(OURS.decode(data), LIBRARY.decode(data))
    assert same(OURS.decode(data), state)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.one_of(st.floats(), st.integers(min_value=-(2**70), max_value=2**70)), max_size=8))
def test_numbers_keep_their_exact_value_and_type(numbers: list[Any]) -> None:
    data = LIBRARY.encode({"n": numbers})
    assert same(OURS.decode(data), LIBRARY.decode(data))


@pytest.mark.parametrize(
    "state",
    [
        {"big": 2**64, "small": -(2**63) - 1},  # orjson would read these as floats
        {"edge": [2**63 - 1, -(2**63), 2**64 - 1, 10**18, -(10**18)]},
        {"nan": float("nan"), "inf": float("inf")},  # stdlib json writes NaN, orjson refuses it
        {"when": datetime(2024, 2, 29, 23, 59, 59, 999000), "money": Decimal("12345678.90")},
        {"nested": [{"at": date(1000, 1, 1)}, [UUID(int=7), b"\x00\xff"]]},
    ],
)
def test_values_orjson_refuses_are_read_by_the_library_decoder(state: dict[str, Any]) -> None:
    data = LIBRARY.encode(state)
    assert same(OURS.decode(data), LIBRARY.decode(data))


def test_an_unknown_type_name_is_refused_as_the_library_refuses_it() -> None:
    data = b'{"x":{"_type_":"no_such_type","_data_":"1"}}'
    with pytest.raises(TranscodingNotRegisteredError):
        LIBRARY.decode(data)
    with pytest.raises(TranscodingNotRegisteredError):
        OURS.decode(data)
