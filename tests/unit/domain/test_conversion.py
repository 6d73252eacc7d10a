from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from domain.conversion import Conversion
from domain.errors import ConversionAlreadyReversed, InvalidValue
from domain.user_call_score import UserCallScore
from domain.values import ScoringRule

NOW = datetime(2026, 11, 24, 12, 0, 0, 999999)


def record(**overrides: object) -> Conversion:
    kwargs: dict[str, object] = {
        "row_id": "c1",
        "score": None,
        "user_id": 1,
        "conversion_type": "signed",
        "now": NOW,
    }
    kwargs.update(overrides)
    return Conversion.record(**kwargs)  # type: ignore[arg-type]


def test_figures_come_from_the_users_score_not_the_caller() -> None:
    score = UserCallScore.register(1, "r1", current_queue_type="unsigned_users")
    score.record_call_attempt(agent_id=7, outcome="answered", called_at=NOW, rule=ScoringRule())
    score.record_call_attempt(agent_id=3, outcome="busy", called_at=NOW, rule=ScoringRule())
    row = record(score=score).row
    assert (row["final_score"], row["total_call_attempts"], row["contributing_agents"]) == (4, 2, [7, 3])
    assert row["previous_queue_type"] == "unsigned_users"
    assert row["converted_at"] == datetime(2026, 11, 24, 12, 0, 0, 999000)


def test_a_user_in_no_queue_converts_with_previous_queue_type_none() -> None:
    assert record().row["previous_queue_type"] == "none"


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("0.10", Decimal("0.10")),
        ("99999999.99", Decimal("99999999.99")),
        (12, Decimal("12.00")),
        (Decimal("-1.5"), Decimal("-1.50")),
    ],
)
def test_money_is_exact_with_two_places(value: object, stored: Decimal) -> None:
    assert record(claim_value=value).row["claim_value"] == stored


@pytest.mark.parametrize("value", [1.1, "1.001", "100000000.00", "NaN", "abc", True])
def test_money_that_would_be_rounded_or_does_not_fit_is_refused(value: object) -> None:
    with pytest.raises(InvalidValue) as error:
        record(estimated_commission=value)
    assert error.value.field == "estimated_commission"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("conversion_type", ""),
        ("conversion_type", "x" * 192),
        ("conversion_reason", "é" * 40_000),
        ("documents_received", {1, 2}),
        ("signature_obtained", "yes"),
        ("user_id", 2**63),
    ],
)
def test_values_that_do_not_fit_the_columns_are_refused(field: str, value: object) -> None:
    with pytest.raises(InvalidValue) as error:
        record(**{field: value})
    assert error.value.field == field


def test_a_reversal_needs_a_reason_and_happens_once() -> None:
    conversion = record()
    with pytest.raises(InvalidValue):
        conversion.reverse("  ")
    conversion.reverse("signed by mistake")
    assert conversion.collect_events()[-1].row_change().kind == "delete"
    with pytest.raises(ConversionAlreadyReversed):
        conversion.reverse("again")
