"""SQL text built one way, for the statements the bootstrap renders itself (the server
path's ``INSERT … SELECT``, verify's per-column checks, the legacy reader's few statements).

Identifiers are quoted by SQLAlchemy's own identifier preparer for the dialect (MariaDB/
MySQL by default). Literals are only ever our own constants (topics, queue types, the
bootstrap time): ``sql_string`` renders them for statements that run on the driver cursor
without parameters (SQLAlchemy's literal rendering doubles ``%`` for the driver's
paramstyle, which such a statement must not). Values that come from outside travel as
bound parameters (``text(...).bindparams(...)``), never through here.
"""

from __future__ import annotations

from sqlalchemy import Dialect
from sqlalchemy.dialects import mysql

MYSQL: Dialect = mysql.dialect()


def quote_name(name: str, dialect: Dialect = MYSQL) -> str:
    """An identifier, always quoted: ```a``b``` on MariaDB/MySQL, ``"a""b"`` on SQLite."""
    return dialect.identifier_preparer.quote_identifier(name)


def qualified_name(schema: str | None, name: str, dialect: Dialect = MYSQL) -> str:
    """``schema.name`` quoted (just the quoted ``name`` without a schema)."""
    table = quote_name(name, dialect)
    return table if schema is None else f"{quote_name(schema, dialect)}.{table}"


def sql_string(text: str) -> str:
    """A string literal for MariaDB/MySQL (our own constants only: topics, type names)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def sql_int(value: int) -> str:
    """An integer literal; refuses anything that is not an int."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"not an integer: {value!r:.40}")
    return str(value)
