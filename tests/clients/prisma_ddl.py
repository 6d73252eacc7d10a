"""The tables a Prisma schema describes, in the terms MariaDB reports them, beside the tables
a database has: so a test can say that docs/schema.prisma describes the cut-over tables
column for column (type, nullability, default), index for index and key for key.

The schema side is Prisma's own reading of the file (its DMMF datamodel, written by
tests/clients/prisma/dmmf-generator.mjs); this module applies the rules of Prisma's MySQL
connector to it: ``String`` is VARCHAR(191), ``DateTime`` DATETIME(3), ``Json`` JSON,
``@default(now())`` CURRENT_TIMESTAMP(3), default index names ``<table>_<columns>_idx``,
``_key`` and ``_fkey``, client-side defaults (``cuid()``) none in the table."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

Shape = dict[str, dict[str, Any]]  # "columns" / "indexes" / "foreign_keys" -> name -> description

TYPES = {"String": "varchar(191)", "Int": "int", "BigInt": "bigint", "Boolean": "tinyint(1)",
         "DateTime": "datetime(3)", "Json": "json", "Decimal": "decimal(65,30)", "Float": "double"}  # fmt: skip
NATIVE = {"Text": "text", "VarChar": "varchar({})", "Decimal": "decimal({},{})", "DateTime": "datetime({})"}
ACTIONS = {"SetNull": "SET NULL", "Cascade": "CASCADE", "Restrict": "RESTRICT", "NoAction": "NO ACTION"}


def _column_of(field: dict[str, Any]) -> str:
    return str(field.get("dbName") or field["name"])


def _type_of(field: dict[str, Any]) -> str:
    native = field.get("nativeType")
    if native:
        return NATIVE[native[0]].format(*native[1])
    return TYPES[field["type"]]


def _default_of(field: dict[str, Any]) -> str | None:
    default = field.get("default")
    if isinstance(default, dict):
        return {"now": "current_timestamp(3)", "autoincrement": "auto_increment"}.get(default["name"])
    if isinstance(default, bool):
        return "1" if default else "0"
    if isinstance(default, str):
        return f"'{default}'"
    return None if default is None else str(default)


def _model_shape(model: dict[str, Any], tables: dict[str, str], indexes: list[dict[str, Any]]) -> Shape:
    table = model["dbName"] or model["name"]
    columns_by_field = {f["name"]: _column_of(f) for f in model["fields"] if f["kind"] == "scalar"}
    shape: Shape = {"columns": {}, "indexes": {}, "foreign_keys": {}}
    for field in model["fields"]:
        if field["kind"] == "scalar":
            shape["columns"][_column_of(field)] = (_type_of(field), not field["isRequired"], _default_of(field))
        elif field.get("relationFromFields"):
            columns = [columns_by_field[name] for name in field["relationFromFields"]]
            on_delete = field.get("relationOnDelete") or ("Restrict" if field["isRequired"] else "SetNull")
            shape["foreign_keys"][f"{table}_{'_'.join(columns)}_fkey"] = (
                tuple(columns), tables[field["type"]], tuple(field["relationToFields"]),
                ACTIONS[on_delete], ACTIONS[field.get("relationOnUpdate") or "Cascade"],
            )  # fmt: skip
    for index in indexes:
        columns = tuple(columns_by_field[f["name"]] for f in index["fields"])
        suffix = {"unique": "key", "normal": "idx"}.get(index["type"])
        name = "PRIMARY" if suffix is None else index.get("dbName") or f"{table}_{'_'.join(columns)}_{suffix}"
        shape["indexes"][name] = (columns, index["type"] != "normal")
    return shape


def described(datamodel: dict[str, Any]) -> dict[str, Shape]:
    """Each table the datamodel maps, as the MySQL connector would create it."""
    tables = {m["name"]: m["dbName"] or m["name"] for m in datamodel["models"]}
    indexes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for index in datamodel["indexes"]:
        indexes[index["model"]].append(index)
    return {tables[m["name"]]: _model_shape(m, tables, indexes[m["name"]]) for m in datamodel["models"]}


def _reported_type(column_type: str, json_checked: bool) -> str:
    if json_checked and column_type == "longtext":  # MariaDB's JSON: LONGTEXT CHECK (json_valid(...))
        return "json"
    return re.sub(r"^(int|bigint)\(\d+\)$", r"\1", column_type)  # MariaDB's display widths


def existing(conn: Connection, table: str) -> Shape:
    """The table as the server reports it; indexes InnoDB made for a foreign key left out."""
    query = lambda sql: conn.execute(text(sql), {"t": table}).all()  # noqa: E731
    where = "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :t"
    checks = " ".join(
        c
        for (c,) in query(
            "SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
            "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = :t"
        )
    )
    shape: Shape = {"columns": {}, "indexes": {}, "foreign_keys": {}}
    for name, column_type, nullable, default, extra in query(
        f"SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS "
        f"WHERE {where} ORDER BY ORDINAL_POSITION"
    ):
        default = "auto_increment" if "auto_increment" in extra else None if default in (None, "NULL") else default
        json_checked = f"json_valid(`{name}`)" in checks
        shape["columns"][name] = (_reported_type(column_type, json_checked), nullable == "YES", default)
    for name, ref_table, on_update, on_delete, columns, ref_columns in query(
        "SELECT r.CONSTRAINT_NAME, r.REFERENCED_TABLE_NAME, r.UPDATE_RULE, r.DELETE_RULE, "
        "GROUP_CONCAT(k.COLUMN_NAME ORDER BY k.ORDINAL_POSITION), "
        "GROUP_CONCAT(k.REFERENCED_COLUMN_NAME ORDER BY k.ORDINAL_POSITION) "
        "FROM information_schema.REFERENTIAL_CONSTRAINTS r JOIN information_schema.KEY_COLUMN_USAGE k "
        "ON k.CONSTRAINT_SCHEMA = r.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = r.CONSTRAINT_NAME "
        "AND k.TABLE_NAME = r.TABLE_NAME WHERE r.CONSTRAINT_SCHEMA = DATABASE() AND r.TABLE_NAME = :t "
        "GROUP BY 1, 2, 3, 4"
    ):
        shape["foreign_keys"][name] = (tuple(columns.split(",")), ref_table, tuple(ref_columns.split(",")),
                                       on_delete, on_update)  # fmt: skip
    for name, unique, columns in query(
        "SELECT INDEX_NAME, MIN(NON_UNIQUE) = 0, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) "
        f"FROM information_schema.STATISTICS WHERE {where} GROUP BY INDEX_NAME"
    ):
        if name not in shape["foreign_keys"]:
            shape["indexes"][name] = (tuple(columns.split(",")), bool(unique))
    return shape
