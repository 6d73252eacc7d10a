"""How an event changes the row its aggregate projects to.

Events are "fat": each carries the resulting column values, not only the intent, so
a projection writes rows without reading them first (fast, blind, batchable), and
the aggregate's own state is built with the very same change. One source of truth.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from eventsourcing.domain import Aggregate

from domain.values import row_time

ChangeKind = Literal["insert", "update", "delete", "none"]


class RowChange(NamedTuple):
    """One row's change. A tuple, because a rebuild makes one per event. It owns its
    ``values`` (each constructor copies), so a consumer may keep them."""

    kind: ChangeKind
    row_id: str
    values: dict[str, Any]

    @classmethod
    def insert(cls, row: dict[str, Any]) -> RowChange:
        return cls("insert", str(row["id"]), dict(row))

    @classmethod
    def update(cls, row_id: str, values: dict[str, Any]) -> RowChange:
        return cls("update", row_id, dict(values))

    @classmethod
    def delete(cls, row_id: str) -> RowChange:
        return cls("delete", row_id, {})

    @classmethod
    def nothing(cls, row_id: str) -> RowChange:
        return cls("none", row_id, {})


class RowUpdateEvent(Aggregate.Event):
    """An event that updates its aggregate's existing row: ``row_id`` names the row and
    ``patch()`` the columns it sets (absolute values). The aggregate applies the same
    patch to its own ``row``, so the projection and the aggregate cannot disagree."""

    row_id: str

    def row_change(self) -> RowChange:
        return RowChange.update(self.row_id, self.patch())

    def patch(self) -> dict[str, Any]:
        return {"updated_at": row_time(self.timestamp)}

    def apply(self, aggregate: Any) -> None:
        aggregate.row.update(self.patch())
