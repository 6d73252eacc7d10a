"""Runs a plain SQL script (no procedures, no ';' inside literals) statement by statement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def statements(sql: str) -> list[str]:
    lines = [line.split("--", 1)[0] if not line.lstrip().startswith("--") else "" for line in sql.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def run_script(cursor: Any, sql: str) -> None:
    for statement in statements(sql):
        cursor.execute(statement)


def fixture_sql(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")
