"""The projected tables: exactly the tables the guide's SQL would have produced.

On MariaDB/MySQL they are created by running the legacy table's own CREATE TABLE (as
captured at bootstrap, so extra legacy columns come along) and then the guide's ALTER
statements verbatim, so ``SHOW CREATE TABLE`` matches what the guide would give.
Foreign-key names are unique per database in InnoDB, so tables being built (staging)
live in a sibling database (``<db>_ct_staging``) under their final names, and a swap
moves them with one ``RENAME TABLE``. On SQLite the same tables carry a name prefix.
The foreign keys to ``agents`` are created only where an ``agents`` table exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, ForeignKey, Index, MetaData, Table, inspect, text
from sqlalchemy.dialects import mysql, sqlite

from domain.legacy_schema import LegacySchema
from infrastructure.database import is_sqlite, schema_lock, write_transaction
from infrastructure.projections import legacy_ddl
from infrastructure.projections.column_types import sa_type
from infrastructure.projections.legacy_ddl import ColumnSpec, IndexSpec
from infrastructure.projections.names import (
    AGENTS,
    CALL_QUEUE,
    CONVERSIONS,
    OUTWARD_KEYS,
    PROJECTED_TABLES,
    USER_CALL_SCORES,
)


@dataclass(frozen=True)
class TableNames:
    scores: str = USER_CALL_SCORES
    queue: str = CALL_QUEUE
    conversions: str = CONVERSIONS
    schema: str | None = None  # MySQL database holding the tables (None: the connection's)

    @classmethod
    def live(cls) -> TableNames:
        return cls()

    @classmethod
    def staging(cls, engine: Engine) -> TableNames:
        return cls.sibling(engine, "ct_staging")

    @classmethod
    def sibling(cls, engine: Engine, label: str) -> TableNames:
        """Tables named like the live ones, in a sibling database (MySQL) or with a
        prefix (SQLite)."""
        if is_sqlite(engine):
            return cls(f"{label}_{USER_CALL_SCORES}", f"{label}_{CALL_QUEUE}", f"{label}_{CONVERSIONS}")
        return cls(schema=f"{engine.url.database}_{label}")

    def all(self) -> dict[str, str]:
        return {USER_CALL_SCORES: self.scores, CALL_QUEUE: self.queue, CONVERSIONS: self.conversions}

    def qualified(self, logical: str) -> str:
        """```schema`.`name``` for MariaDB/MySQL, each part quoted by SQLAlchemy's preparer."""
        name = quote_mysql(self.all()[logical])
        return f"{quote_mysql(self.schema)}.{name}" if self.schema else name


def quote_mysql(identifier: str) -> str:
    return mysql.dialect().identifier_preparer.quote_identifier(identifier)


def quote_sqlite(identifier: str) -> str:
    return sqlite.dialect().identifier_preparer.quote_identifier(identifier)


@dataclass(frozen=True)
class ProjectionTables:
    names: TableNames
    scores: Table
    queue: Table
    conversions: Table

    def by_logical_name(self) -> dict[str, Table]:
        return {USER_CALL_SCORES: self.scores, CALL_QUEUE: self.queue, CONVERSIONS: self.conversions}


def column_specs(logical: str, legacy_schema: LegacySchema | None) -> list[ColumnSpec]:
    if logical == CONVERSIONS:
        return list(legacy_ddl.CONVERSIONS_COLUMNS)
    captured = legacy_schema.columns(logical) if legacy_schema else []
    legacy: list[ColumnSpec] = [
        (c["name"], c["type"], bool(c["nullable"]), c.get("default")) for c in captured
    ] or list(legacy_ddl.REFERENCE_LEGACY_COLUMNS[logical])
    present = {spec[0] for spec in legacy}
    return legacy + [spec for spec in legacy_ddl.GUIDE_NEW_COLUMNS[logical] if spec[0] not in present]


def projection_tables(
    names: TableNames, legacy_schema: LegacySchema | None, *, with_agents_fk: bool
) -> ProjectionTables:
    """SQLAlchemy Table objects for the three tables (used for DML on both databases
    and for DDL on SQLite)."""
    metadata = MetaData(schema=names.schema)
    if with_agents_fk:
        Table(AGENTS, metadata, Column("id", sa_type("int"), primary_key=True))
    tables: dict[str, Table] = {}
    for logical, physical in names.all().items():
        columns = []
        for name, declared, nullable, _default in column_specs(logical, legacy_schema):
            fk = _agents_fk(logical, name) if with_agents_fk else None
            args: list[Any] = [ForeignKey(**fk)] if fk else []
            columns.append(Column(name, sa_type(declared), *args, primary_key=name == "id", nullable=nullable))
        table = Table(physical, metadata, *columns)
        for index_name, index_columns, unique in _indexes(logical):
            Index(_prefixed(physical, logical, index_name), *(table.c[c] for c in index_columns), unique=unique)
        tables[logical] = table
    return ProjectionTables(names, tables[USER_CALL_SCORES], tables[CALL_QUEUE], tables[CONVERSIONS])


def create_projection_tables(engine: Engine, names: TableNames, legacy_schema: LegacySchema | None) -> ProjectionTables:
    """Create the three tables (if absent) and return their Table objects. Safe when
    several processes start at once (schema lock)."""
    with schema_lock(engine):
        return _create_projection_tables(engine, names, legacy_schema)


def _create_projection_tables(
    engine: Engine, names: TableNames, legacy_schema: LegacySchema | None
) -> ProjectionTables:
    has_agents = inspect(engine).has_table(AGENTS)
    tables = projection_tables(names, legacy_schema, with_agents_fk=has_agents and is_sqlite(engine))
    if is_sqlite(engine):
        with write_transaction(engine) as conn:
            for table in tables.by_logical_name().values():
                table.create(conn, checkfirst=True)
        return tables
    with engine.begin() as conn:
        if names.schema:
            conn.exec_driver_sql(
                f"CREATE DATABASE IF NOT EXISTS `{names.schema}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
        existing = set(inspect(conn).get_table_names(schema=names.schema))
        live_db = engine.url.database
        agents = f"`{live_db}`.`{AGENTS}`" if names.schema else f"`{AGENTS}`"
        for logical in PROJECTED_TABLES:
            if names.all()[logical] in existing:
                continue
            # MySQL DDL commits statement by statement: a table is built under another name
            # and renamed into place, so a kill between its CREATE and its ALTERs never
            # leaves a table with the final name and half its columns
            building = _building_name(names, logical)
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {building}")  # left by a killed run
            for statement in _creation(logical, building, legacy_schema, agents, has_agents):
                conn.exec_driver_sql(statement)
            conn.exec_driver_sql(f"RENAME TABLE {building} TO {names.qualified(logical)}")
    return tables


def _building_name(names: TableNames, logical: str) -> str:
    building = f"{names.all()[logical]}_convtrack_building"
    return f"`{names.schema}`.`{building}`" if names.schema else f"`{building}`"


def _creation(
    logical: str, target: str, legacy_schema: LegacySchema | None, agents: str, has_agents: bool
) -> list[str]:
    """The statements that make ``target`` as the guide would make the table."""
    if logical == CONVERSIONS:
        fk = [legacy_ddl.CONVERSIONS_FK.format(t=target, agents=agents)] if has_agents else []
        return [legacy_ddl.CONVERSIONS_CREATE.format(t=target), *fk]
    create = _retarget(_legacy_create(logical, legacy_schema), target, agents, has_agents)
    alters = [s for s in legacy_ddl.GUIDE_ALTERS[logical] if not _adds_existing_column(s, logical, legacy_schema)]
    return [create, *(alter.format(t=target) for alter in alters)]


def drop_projection_tables(engine: Engine, names: TableNames) -> None:
    with write_transaction(engine) as conn:
        for logical in reversed(PROJECTED_TABLES):
            if is_sqlite(engine):
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote_sqlite(names.all()[logical])}")
            else:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {names.qualified(logical)}")
        if names.schema and not is_sqlite(engine):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {quote_mysql(names.schema)}.{quote_mysql(OUTWARD_KEYS)}")
            remaining = conn.execute(
                text("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = :s"),
                {"s": names.schema},
            ).scalar()
            if not remaining:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote_mysql(names.schema)}")


def _legacy_create(logical: str, legacy_schema: LegacySchema | None) -> str:
    if legacy_schema is not None:
        captured = legacy_schema.tables.get(logical, {}).get("create_sql")
        if captured:
            return str(captured)
    return legacy_ddl.REFERENCE_LEGACY_CREATE[logical]


_CREATE_HEAD = re.compile(r"^\s*CREATE\s+TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(`[^`]+`|\S+)", re.IGNORECASE)
_AGENTS_REF = re.compile(r"REFERENCES\s+`agents`", re.IGNORECASE)
_AGENTS_CONSTRAINT = re.compile(
    r",\s*CONSTRAINT\s+`[^`]+`\s+FOREIGN\s+KEY[^,\n]*REFERENCES\s+`agents`[^,\n]*", re.IGNORECASE
)
_AUTO_INCREMENT = re.compile(r"\s+AUTO_INCREMENT=\d+", re.IGNORECASE)


def _retarget(create: str, qualified: str, agents: str, has_agents: bool) -> str:
    statement = _CREATE_HEAD.sub(f"CREATE TABLE {qualified}", create, count=1)
    statement = _AUTO_INCREMENT.sub("", statement)
    if not has_agents:
        return _AGENTS_CONSTRAINT.sub("", statement)
    return _AGENTS_REF.sub(f"REFERENCES {agents}", statement)


def _adds_existing_column(statement: str, logical: str, legacy_schema: LegacySchema | None) -> bool:
    if legacy_schema is None or not statement.startswith("ALTER TABLE"):
        return False
    legacy_names = {c["name"] for c in legacy_schema.columns(logical)}
    added = re.findall(r"ADD COLUMN `([^`]+)`", statement)
    return any(name in legacy_names for name in added)


def _indexes(logical: str) -> list[IndexSpec]:
    if logical == CONVERSIONS:
        return list(legacy_ddl.CONVERSIONS_INDEXES)
    return legacy_ddl.LEGACY_INDEXES[logical] + legacy_ddl.GUIDE_NEW_INDEXES[logical]


def _prefixed(physical: str, logical: str, index_name: str) -> str:
    """SQLite index names are global to the file: a prefixed table gets prefixed indexes."""
    return physical[: len(physical) - len(logical)] + index_name


def _agents_fk(logical: str, column: str) -> dict[str, Any] | None:
    if logical == CALL_QUEUE and column == "assigned_to_agent_id":
        return {
            "column": f"{AGENTS}.id",
            "name": "call_queue_assigned_to_agent_id_fkey",
            "ondelete": "SET NULL",
            "onupdate": "CASCADE",
        }
    if logical == CONVERSIONS and column == "primary_agent_id":
        return {
            "column": f"{AGENTS}.id",
            "name": "conversions_primary_agent_id_fkey",
            "ondelete": "SET NULL",
            "onupdate": "CASCADE",
        }
    return None
