"""Verify's row-level reconciliation run by the server, when the legacy tables and the
staging tables share one MariaDB/MySQL server (the real case).

One pass per table joins every legacy row to its projected row by id and compares every
legacy column byte for byte (``CAST(… AS BINARY)`` with NULL-safe ``<=>``: the text form
of a DATETIME(3) keeps its milliseconds and a DECIMAL its scale, and strings compare as
bytes, not by the ``_ci`` collation that finds 'a' equal to 'A'), plus the new columns
against what the bootstrap promises. It counts mismatches per column. Only when something
differs does a second query fetch the first rows that differ, and the Python comparison
(the one the other path uses for every row) names each column and both values.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, select

from bootstrap.legacy_source import LegacySource
from bootstrap.seed_sql import LegacyColumn, callback_id, converted_type, current_types, is_callback, scheduled_for
from bootstrap.sql_text import quote_name, sql_string
from domain.values import row_time
from infrastructure.projections.tables import ProjectionTables

MAX_DETAILED = 200


def _same(left: str, right: str, kind: str | None = "text") -> str:
    """NULL-safe equality, exact: strings (and any type without a known exact comparison)
    as bytes; numbers, dates and datetimes by value (same column types on both sides, so
    a DATETIME(3) compares to the millisecond and a DECIMAL with its scale)."""
    if kind in {"int", "bool", "decimal", "datetime", "date"}:
        return f"({left} <=> {right})"
    return f"(CAST({left} AS BINARY) <=> CAST({right} AS BINARY))"


def _column_checks(kinds: dict[str, str | None], skip: set[str]) -> dict[str, str]:
    """Each legacy column of ``l`` equal to the same column of ``s``."""
    return {
        name: _same(f"l.{quote_name(name)}", f"s.{quote_name(name)}", kind)
        for name, kind in kinds.items()
        if name not in skip
    }


class ServerComparison:
    def __init__(self, source: LegacySource, tables: ProjectionTables, bootstrap_time: datetime) -> None:
        self.source = source
        self.tables = tables
        self.queue_check = row_time(bootstrap_time).isoformat(sep=" ", timespec="milliseconds")
        # built once: each reads the table's columns from information_schema
        self.checks = {"user_call_scores": self.score_checks(), "call_queue": self.queue_checks()}

    # ----------------------------------------------------------------- the checks per column

    def score_checks(self) -> dict[str, str]:
        """column -> SQL that is true when the projected row holds what it must."""
        kinds = self._kinds("user_call_scores")
        legacy = list(kinds)
        checks = _column_checks(kinds, skip=set())
        created = "l.`created_at`" if "created_at" in legacy else "NULL"
        checks["is_active"] = "(s.`is_active` <=> 1)"
        checks["last_reset_date"] = _same("s.`last_reset_date`", created, kinds.get("created_at"))
        queue_check = f"CAST({sql_string(self.queue_check)} AS DATETIME(3))"
        checks["last_queue_check"] = _same("s.`last_queue_check`", queue_check, "datetime")
        allowed = (
            "(s.`current_queue_type` IS NULL OR EXISTS (SELECT 1 FROM `call_queue` q WHERE q.`user_id` = l.`user_id` "
            f"AND BINARY {converted_type('q')} = BINARY s.`current_queue_type`))"
        )
        checks["current_queue_type"] = _same("s.`current_queue_type`", "e.convtrack_type")
        checks["current_queue_type (one of the user's entries' types)"] = allowed
        return checks

    def queue_checks(self) -> dict[str, str]:
        kinds = self._kinds("call_queue")
        legacy = list(kinds)
        checks = _column_checks(kinds, skip={"queue_type"})
        callback = is_callback("l")
        schedule = scheduled_for("l", kinds)
        reason = "l.`queue_reason`" if "queue_reason" in legacy else "NULL"
        checks["queue_type"] = _same("s.`queue_type`", converted_type("l"))
        checks["callback_id"] = _same("s.`callback_id`", f"IF({callback}, {callback_id('l')}, NULL)")
        checks["callback_reason"] = _same("s.`callback_reason`", f"IF({callback}, {reason}, NULL)")
        checks["callback_scheduled_for"] = _same(
            "s.`callback_scheduled_for`", f"IF({callback}, {schedule}, NULL)", "datetime"
        )
        return checks

    def _kinds(self, table: str) -> dict[str, str | None]:
        return {c["name"]: LegacyColumn(c["name"], c["type"]).kind for c in self.source.columns(table)}

    # ----------------------------------------------------------------- the passes

    def _from(self, logical: str) -> str:
        staging = self.tables.names.qualified(logical)
        joined = f"FROM {quote_name(logical)} l LEFT JOIN {staging} s ON s.`id` = l.`id` "
        if logical == "user_call_scores":
            joined += f"LEFT JOIN ({current_types()}) e ON e.`user_id` = l.`user_id` "
        return joined

    def tally(self, logical: str) -> int:
        """Mismatches in ``logical``: one per missing projected row, one per column that
        differs (a pass over the table, on its own connection)."""
        checks = self._checks(logical)
        counted = ", ".join(f"SUM(s.`id` IS NOT NULL AND NOT {check})" for check in checks.values())
        with self.source.engine.connect() as conn:
            query = f"SELECT SUM(s.`id` IS NULL), {counted} {self._from(logical)}{self._bad(checks)}"
            row = conn.exec_driver_sql(query).one()
        return sum(int(value or 0) for value in row)

    def first_differing(self, logical: str) -> list[Any]:
        """The ids of the first rows that differ, in id order."""
        with self.source.engine.connect() as conn:
            found = conn.exec_driver_sql(
                f"SELECT l.`id` {self._from(logical)}{self._bad(self._checks(logical))} "
                f"ORDER BY l.`id` LIMIT {MAX_DETAILED}"
            )
            return list(found.scalars())

    def _checks(self, logical: str) -> dict[str, str]:
        return self.checks[logical]

    @staticmethod
    def _bad(checks: dict[str, str]) -> str:
        return f"WHERE s.`id` IS NULL OR NOT ({' AND '.join(checks.values())})"


def rows_by_id(conn: Connection, table: Table, ids: list[Any]) -> dict[Any, dict[str, Any]]:
    return {r.id: dict(r._mapping) for r in conn.execute(select(table).where(table.c.id.in_(ids)))}
