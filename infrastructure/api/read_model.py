"""Queries, read from the projected live tables (what the app itself reads)."""

from __future__ import annotations

import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Select, func, select

from infrastructure.json_values import plain_json
from infrastructure.pages import page
from infrastructure.projections import tracking
from infrastructure.projections.names import LIVE
from infrastructure.projections.tables import ProjectionTables

OPEN = ("pending", "assigned")


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-safe values: decimals as strings, datetimes RFC 3339 in UTC with milliseconds."""
    return {key: plain_json(value) for key, value in row.items()}


class ReadModel:
    def __init__(self, engine: Engine, tables: ProjectionTables) -> None:
        self.engine = engine
        self.tables = tables

    def position(self) -> int:
        with self.engine.connect() as conn:
            return tracking.read_position(conn, LIVE)

    def progress(self) -> tuple[int, tuple[int, str] | None]:
        """The live projection's position, and the event it is stuck at (position, cause), if any."""
        with self.engine.connect() as conn:
            return tracking.read_position(conn, LIVE), tracking.read_failure(conn, LIVE)

    def wait_for(self, position: int | None, timeout: float) -> bool:
        if not position:
            return True
        deadline = time.monotonic() + timeout
        delay = 0.005
        while self.position() < position:
            if time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        return True

    def _all(self, query: Select[Any]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [plain(dict(r._mapping)) for r in conn.execute(query)]

    def queue(self, queue_type: str, limit: int, offset: int) -> dict[str, Any]:
        q = self.tables.queue
        rows = self._all(
            select(q)
            .where(q.c.queue_type == queue_type, q.c.status.in_(OPEN))
            .order_by(q.c.priority_score.desc(), q.c.created_at, q.c.id)
            .limit(limit + 1)
            .offset(offset)
        )
        return {"queue_type": queue_type, **page(rows, limit, offset)}

    def score(self, user_id: int) -> dict[str, Any] | None:
        s = self.tables.scores
        rows = self._all(select(s).where(s.c.user_id == user_id))
        return rows[0] if rows else None

    def conversions(
        self,
        *,
        agent_id: int | None,
        conversion_type: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> dict[str, Any]:
        c = self.tables.conversions
        query = select(c)
        if agent_id is not None:
            query = query.where(c.c.primary_agent_id == agent_id)
        if conversion_type is not None:
            query = query.where(c.c.conversion_type == conversion_type)
        if since is not None:
            query = query.where(c.c.converted_at >= since)
        if until is not None:
            query = query.where(c.c.converted_at < until)
        rows = self._all(query.order_by(c.c.converted_at.desc(), c.c.id).limit(limit + 1).offset(offset))
        return page(rows, limit, offset)

    def totals_per_agent(self, limit: int, offset: int) -> dict[str, Any]:
        c = self.tables.conversions
        query = (
            select(
                c.c.primary_agent_id.label("agent_id"),
                func.count().label("conversions"),
                func.sum(c.c.claim_value).label("claim_value"),
                func.sum(c.c.estimated_commission).label("estimated_commission"),
            )
            .group_by(c.c.primary_agent_id)
            .order_by(c.c.primary_agent_id)
            .limit(limit + 1)
            .offset(offset)
        )
        rows = self._all(query)
        for row in rows:
            if self.engine.dialect.name == "sqlite":  # SQLite sums the decimal strings as floats: re-sum exactly
                row.update(self._exact_sums(row["agent_id"]))
            for money in ("claim_value", "estimated_commission"):  # the sum of no value is zero, as on SQLite
                row[money] = row[money] if row[money] is not None else "0.00"
        return page(rows, limit, offset)

    def _exact_sums(self, agent_id: int | None) -> dict[str, str]:
        c = self.tables.conversions
        where = c.c.primary_agent_id.is_(None) if agent_id is None else c.c.primary_agent_id == agent_id
        with self.engine.connect() as conn:
            values = conn.execute(select(c.c.claim_value, c.c.estimated_commission).where(where)).all()
        return {
            "claim_value": str(sum((v[0] for v in values if v[0] is not None), Decimal("0.00"))),
            "estimated_commission": str(sum((v[1] for v in values if v[1] is not None), Decimal("0.00"))),
        }
