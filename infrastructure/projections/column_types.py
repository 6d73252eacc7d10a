"""Maps a column type as MySQL/MariaDB (or SQLite's declared type) spells it to the
SQLAlchemy type that writes and reads its values exactly."""

from __future__ import annotations

import re

from sqlalchemy import BigInteger, Boolean, Date, Float, Integer, LargeBinary, String, Text
from sqlalchemy.types import TypeEngine

from infrastructure.row_types import ExactDecimal, JsonText, MillisecondDateTime

_SIZED = re.compile(r"^\s*([a-z ]+?)\s*(?:\((\d+)(?:\s*,\s*(\d+))?\))?\s*(unsigned|signed)?\s*$")


_LISTED = re.compile(r"^\s*(enum|set)\s*\(.*\)\s*$", re.DOTALL)


def base_type(declared: str) -> tuple[str, str | None]:
    """(base type, size) of a declared type: ``("varchar", "191")``, ``("text", None)``,
    ``("enum", None)``; the whole declaration lowercased if it does not parse."""
    listed = _LISTED.match(declared.lower())
    if listed is not None:
        return listed.group(1), None
    match = _SIZED.match(declared.lower())
    if match is None:
        return declared.lower(), None
    return match.group(1), match.group(2)


def sa_type(declared: str) -> TypeEngine[object]:
    if _LISTED.match(declared.lower()):
        return Text()  # ENUM('a','b') and SET('a','b') values read and written as their text
    match = _SIZED.match(declared.lower())
    if match is None:
        raise ValueError(f"unsupported column type {declared!r}")
    base, size, scale = match.group(1), match.group(2), match.group(3)
    if base in {"tinyint", "bool", "boolean"} and (size == "1" or base != "tinyint"):
        return Boolean()
    if base in {"tinyint", "smallint", "mediumint", "int", "integer"}:
        return Integer()
    if base == "bigint":
        return BigInteger()
    if base in {"varchar", "char", "character varying", "nvarchar", "nchar"}:
        return String(int(size or 191))
    if base in {"text", "tinytext", "mediumtext", "longtext", "enum", "set"}:
        return Text()
    if base in {"datetime", "timestamp"}:
        return MillisecondDateTime()
    if base == "date":
        return Date()
    if base in {"decimal", "numeric", "dec"}:
        return ExactDecimal(int(size or 10), int(scale or 0))
    if base == "json":
        return JsonText()
    if base in {"float", "double", "real", "double precision"}:
        return Float()
    if base in {"blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary"}:
        return LargeBinary()
    raise ValueError(f"unsupported column type {declared!r}")
