"""Reading whole tables for row-by-row comparisons."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from infrastructure.projections.tables import ProjectionTables


def rows_of(engine: Engine, tables: ProjectionTables) -> dict[str, list[tuple[Any, ...]]]:
    result = {}
    with engine.connect() as conn:
        for logical, table in tables.by_logical_name().items():
            result[logical] = [tuple(r) for r in conn.execute(select(table).order_by(table.c.id))]
    return result
