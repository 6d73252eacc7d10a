"""Column types that keep values exact on both databases."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Dialect, Numeric, String, Text
from sqlalchemy.dialects import mysql
from sqlalchemy.types import TypeDecorator


class MillisecondDateTime(TypeDecorator[datetime]):
    """DATETIME(3) on MySQL/MariaDB; on SQLite an ISO string that keeps the milliseconds."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name in {"mysql", "mariadb"}:
            return dialect.type_descriptor(mysql.DATETIME(fsp=3))
        return dialect.type_descriptor(DateTime())


class ExactDecimal(TypeDecorator[Decimal]):
    """DECIMAL(p,s) on MySQL/MariaDB; on SQLite a string, because SQLite's NUMERIC would
    round through a float."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int = 10, scale: int = 2) -> None:
        super().__init__()
        self.precision = precision
        self.scale = scale

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(self.precision + 2))
        return dialect.type_descriptor(Numeric(self.precision, self.scale, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


class JsonText(TypeDecorator[Any]):
    """A JSON column (MariaDB's JSON is LONGTEXT with a validity check; SQLite stores text).
    Values are written as compact JSON and read back parsed."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)
