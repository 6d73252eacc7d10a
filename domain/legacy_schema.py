"""LegacySchema: the shape of the legacy tables as the bootstrap found them.

A real installation may have columns the reference schema does not list. Their
definitions travel in this aggregate's event so that the projected tables (and a
rebuild long after the legacy tables are gone) carry every legacy column.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.identity import legacy_schema_id


class LegacySchema(Aggregate):
    """``tables`` maps a legacy table name to ``{"columns": [...], "create_sql": str | None}``;
    each column is ``{"name", "type", "nullable", "default"}`` with ``type`` as the
    database reports it (e.g. ``varchar(191)``, ``datetime(3)``, ``decimal(12,4)``)."""

    @staticmethod
    def create_id() -> UUID:
        return legacy_schema_id()

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Any]] = {}

    class Captured(Aggregate.Created):
        tables: dict[str, dict[str, Any]]

        def apply(self, aggregate: LegacySchema) -> None:
            aggregate.tables = dict(self.tables)

    @classmethod
    def capture(cls, tables: dict[str, dict[str, Any]]) -> LegacySchema:
        return cls._create(cls.Captured, id=cls.create_id(), tables=tables)

    def columns(self, table: str) -> list[dict[str, Any]]:
        return list(self.tables.get(table, {}).get("columns", []))
