"""Conversion: a user signed up. One row of the seed's ``conversions`` table."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import ConversionAlreadyReversed, InvalidValue
from domain.identity import conversion_id
from domain.rows import RowChange
from domain.user_call_score import UserCallScore
from domain.values import (
    NO_QUEUE,
    check_datetime,
    check_int,
    check_json,
    check_money,
    check_text,
    check_user_id,
    check_varchar,
)


class Conversion(Aggregate):
    @staticmethod
    def create_id(row_id: str) -> UUID:
        return conversion_id(row_id)

    def __init__(self) -> None:
        self.row: dict[str, Any] = {}
        self.reversed = False

    class Recorded(Aggregate.Created):
        """Every column of the ``conversions`` row. final_score, total_call_attempts,
        last_call_at, contributing_agents and previous_queue_type were taken from the
        user's score at that moment, not from the caller."""

        row: dict[str, Any]

        def row_change(self) -> RowChange:
            return RowChange.insert(self.row)

        def apply(self, aggregate: Conversion) -> None:
            aggregate.row = dict(self.row)
            aggregate.reversed = False

    class Reversed(Aggregate.Event):
        """The conversion no longer stands; its row leaves ``conversions`` (the table
        has no status column) and the event log keeps it."""

        row_id: str
        reason: str

        def row_change(self) -> RowChange:
            return RowChange.delete(self.row_id)

        def apply(self, aggregate: Conversion) -> None:
            aggregate.reversed = True

    @classmethod
    def record(
        cls,
        *,
        row_id: str,
        score: UserCallScore | None,
        user_id: int,
        conversion_type: str,
        conversion_reason: str | None = None,
        primary_agent_id: int | None = None,
        documents_received: Any = None,
        signature_obtained: bool = False,
        requirements_met: Any = None,
        claim_value: Decimal | str | int | None = None,
        estimated_commission: Decimal | str | int | None = None,
        converted_at: datetime | None = None,
        now: datetime,
    ) -> Conversion:
        """``score`` is the user's score (None for a user the tracker has never seen a
        call or queue entry for); the figures it carries are copied from it."""
        check_varchar("id", row_id)
        user_id = check_user_id(user_id)
        if primary_agent_id is not None:
            check_int("primary_agent_id", primary_agent_id)
        if not isinstance(signature_obtained, bool):
            raise InvalidValue("signature_obtained", "must be true or false")
        row = {
            "id": row_id,
            "user_id": user_id,
            "previous_queue_type": (score.current_queue_type if score else None) or NO_QUEUE,
            "conversion_type": check_varchar("conversion_type", conversion_type),
            "conversion_reason": check_text("conversion_reason", conversion_reason),
            "final_score": score.current_score if score and score.has_row else None,
            "total_call_attempts": score.total_attempts if score else 0,
            "last_call_at": score.last_call_at if score else None,
            "converted_at": check_datetime("converted_at", converted_at or now),
            "primary_agent_id": primary_agent_id,
            "contributing_agents": list(score.contributing_agents) if score else [],
            "documents_received": check_json("documents_received", documents_received),
            "signature_obtained": signature_obtained,
            "requirements_met": check_json("requirements_met", requirements_met),
            "claim_value": check_money("claim_value", claim_value),
            "estimated_commission": check_money("estimated_commission", estimated_commission),
        }
        return cls._create(cls.Recorded, id=cls.create_id(row_id), row=row)

    @property
    def row_id(self) -> str:
        return str(self.row["id"])

    @property
    def user_id(self) -> int:
        return int(self.row["user_id"])

    def reverse(self, reason: str) -> None:
        if not check_text("reason", reason) or not reason.strip():
            raise InvalidValue("reason", "a reversal needs a reason")
        if self.reversed:
            raise ConversionAlreadyReversed(f"conversion {self.row_id} is already reversed")
        self.trigger_event(self.Reversed, row_id=self.row_id, reason=reason)
