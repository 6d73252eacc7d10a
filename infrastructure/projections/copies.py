"""Kept and retired copies that nothing done to the live database can touch.

A cutover keeps the legacy tables, a rollback and a rebuild keep the tracker's, in a sibling
database ``<db>_<label>`` (MariaDB/MySQL). ``RENAME TABLE`` moves a table's foreign keys
with it, still naming the live parent (``agents``): an ``UPDATE agents SET id`` would
cascade into the copy, a ``DELETE`` would set NULL in it, and ``DROP DATABASE`` of the live
database would fail (error 1451). So right after the rename each foreign key of the copy
that references a table outside the copy is recorded, its clause exactly as ``SHOW CREATE
TABLE`` shows it, in the copy's own table ``ct_outward_keys``, then dropped (``isolate``).
A rollback renames the legacy tables back, then adds the recorded keys back (``restore``).
Both look at what exists first, so a rerun after a kill anywhere finishes them.

SQLite: a copy is a set of prefixed tables in the same file, and a foreign key names its
parent by table name only; nothing is isolated there (see the runbook).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, text

from domain.bootstrap_run import BootstrapRun
from domain.errors import NotFound, OperationRefused
from infrastructure.database import is_sqlite
from infrastructure.projections.labels import LABEL, Kind, kept_tables
from infrastructure.projections.names import OUTWARD_KEYS, PROJECTED_TABLES
from infrastructure.projections.tables import TableNames, drop_projection_tables, quote_mysql, quote_sqlite

KIND_NAMES = {Kind.LEGACY: "kept", Kind.RETIRED: "retired", Kind.ROLLED_BACK: "rolled-back"}


@dataclass(frozen=True)
class OutwardKey:
    table: str
    name: str
    definition: str  # CONSTRAINT `name` FOREIGN KEY (...) REFERENCES `db`.`agents` (`id`) ON ...


@dataclass(frozen=True)
class Copy:
    label: str
    kind: str  # kept, retired or rolled-back
    rows: dict[str, int] = field(default_factory=dict)  # table -> row count

    def to_dict(self) -> dict[str, object]:
        return {"label": self.label, "kind": self.kind, "tables": dict(self.rows)}


def qualified_name(schema: str | None, table: str) -> str:
    """```schema`.`table``` (just ```table``` without a schema), quoted by SQLAlchemy's preparer."""
    return f"{quote_mysql(schema)}.{quote_mysql(table)}" if schema else quote_mysql(table)


def isolate(engine: Engine, names: TableNames) -> list[OutwardKey]:
    """Record, then drop, every foreign key of the copy ``names`` that references a table
    outside it (MariaDB/MySQL; nothing on SQLite). Idempotent: only existing keys are seen."""
    if is_sqlite(engine) or names.schema is None:
        return []
    with engine.connect() as conn:
        keys = _outward_keys(conn, names.schema)
    if not keys:
        return []
    with engine.begin() as conn:
        _record(conn, names.schema, keys)
    for key in keys:  # each ALTER commits by itself; a kill between two leaves them recorded
        with engine.begin() as conn:
            table = qualified_name(names.schema, key.table)
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP FOREIGN KEY {quote_mysql(key.name)}")
    return keys


def _outward_keys(conn: Connection, schema: str) -> list[OutwardKey]:
    rows = conn.execute(
        text(
            "SELECT DISTINCT TABLE_NAME, CONSTRAINT_NAME FROM information_schema.KEY_COLUMN_USAGE "
            "WHERE TABLE_SCHEMA = :s AND REFERENCED_TABLE_SCHEMA IS NOT NULL AND REFERENCED_TABLE_SCHEMA <> :s "
            "ORDER BY TABLE_NAME, CONSTRAINT_NAME"
        ),
        {"s": schema},
    ).all()
    return [OutwardKey(str(t), str(n), _definition(conn, schema, str(t), str(n))) for t, n in rows]


def _definition(conn: Connection, schema: str, table: str, name: str) -> str:
    """The key's clause as SHOW CREATE TABLE writes it (the parent qualified by its database)."""
    create = str(conn.exec_driver_sql(f"SHOW CREATE TABLE {qualified_name(schema, table)}").one()[1])
    head = f"CONSTRAINT {quote_mysql(name)} FOREIGN KEY"
    for line in create.splitlines():
        clause = line.strip().rstrip(",")
        if clause.startswith(head):
            return clause
    raise OperationRefused(f"foreign key {name} of {schema}.{table} is not in its SHOW CREATE TABLE")


def _record(conn: Connection, schema: str, keys: list[OutwardKey]) -> None:
    table = qualified_name(schema, OUTWARD_KEYS)
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {table} (table_name VARCHAR(64) NOT NULL, constraint_name VARCHAR(64) NOT NULL, "
        "definition TEXT NOT NULL, PRIMARY KEY (table_name, constraint_name)) "
        "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    )
    for key in keys:
        conn.execute(
            text(f"INSERT IGNORE INTO {table} (table_name, constraint_name, definition) VALUES (:t, :n, :d)"),
            {"t": key.table, "n": key.name, "d": key.definition},
        )


def recorded_keys(engine: Engine, schema: str) -> list[OutwardKey]:
    """The keys recorded in the copy ``schema`` (none when it has no record)."""
    with engine.connect() as conn:
        if not _has_table(conn, schema, OUTWARD_KEYS):
            return []
        rows = conn.exec_driver_sql(
            f"SELECT table_name, constraint_name, definition FROM {qualified_name(schema, OUTWARD_KEYS)} "
            "ORDER BY table_name, constraint_name"
        ).all()
    return [OutwardKey(str(t), str(n), str(d)) for t, n, d in rows]


def restore(engine: Engine, copy: TableNames, target: TableNames) -> list[OutwardKey]:
    """Add back, exactly as recorded, the keys of the tables moved from ``copy`` to
    ``target`` (those not there yet), then forget them; the copy's database goes when empty.
    Rows that name a parent deleted meanwhile are kept as they are (the copy was byte for
    byte): the keys are added without re-checking the rows (``foreign_key_checks = 0``)."""
    if is_sqlite(engine) or copy.schema is None:
        return []
    keys = [k for k in recorded_keys(engine, copy.schema) if _moved(engine, copy.schema, target, k.table)]
    for key in keys:
        if not _has_key(engine, target, key):
            _add_key(engine, target, key)
    _forget(engine, copy.schema, keys)
    return keys


def _moved(engine: Engine, schema: str, target: TableNames, table: str) -> bool:
    with engine.connect() as conn:
        return not _has_table(conn, schema, table) and _has_table(conn, target.schema, table)


def _has_table(conn: Connection, schema: str | None, table: str) -> bool:
    found = conn.execute(
        text(
            "SELECT COUNT(*) FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = COALESCE(:s, DATABASE()) AND TABLE_NAME = :t"
        ),
        {"s": schema, "t": table},
    ).scalar()
    return bool(found)


def _has_key(engine: Engine, target: TableNames, key: OutwardKey) -> bool:
    with engine.connect() as conn:
        found = conn.execute(
            text(
                "SELECT COUNT(*) FROM information_schema.TABLE_CONSTRAINTS "
                "WHERE TABLE_SCHEMA = COALESCE(:s, DATABASE()) AND TABLE_NAME = :t "
                "AND CONSTRAINT_NAME = :n AND CONSTRAINT_TYPE = 'FOREIGN KEY'"
            ),
            {"s": target.schema, "t": key.table, "n": key.name},
        ).scalar()
    return bool(found)


def _add_key(engine: Engine, target: TableNames, key: OutwardKey) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql("SET SESSION foreign_key_checks = 0")
        try:
            conn.exec_driver_sql(f"ALTER TABLE {qualified_name(target.schema, key.table)} ADD {key.definition}")
        finally:
            conn.exec_driver_sql("SET SESSION foreign_key_checks = 1")
        conn.commit()


def _forget(engine: Engine, schema: str, keys: list[OutwardKey]) -> None:
    with engine.begin() as conn:
        if keys and _has_table(conn, schema, OUTWARD_KEYS):
            record = qualified_name(schema, OUTWARD_KEYS)
            for key in keys:
                conn.execute(
                    text(f"DELETE FROM {record} WHERE table_name = :t AND constraint_name = :n"),
                    {"t": key.table, "n": key.name},
                )
            if not conn.exec_driver_sql(f"SELECT COUNT(*) FROM {record}").scalar():
                conn.exec_driver_sql(f"DROP TABLE {record}")
        tables = conn.execute(
            text("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = :s"), {"s": schema}
        ).scalar()
        if not tables:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote_mysql(schema)}")


def list_copies(engine: Engine) -> list[Copy]:
    """Every kept, retired and rolled-back copy on ``engine``'s database, by label."""
    found = _sqlite_copies(engine) if is_sqlite(engine) else _mysql_copies(engine)
    return [found[label] for label in sorted(found)]


def _mysql_copies(engine: Engine) -> dict[str, Copy]:
    database = str(engine.url.database)
    pattern = database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "\\_ct\\_%"
    copies: dict[str, Copy] = {}
    with engine.connect() as conn:
        schemas = conn.execute(
            text("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE :p"), {"p": pattern}
        ).scalars()
        for schema in [str(s) for s in schemas]:
            found = LABEL.fullmatch(schema[len(database) + 1 :])
            if found is None:
                continue
            tables = conn.execute(
                text("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = :s ORDER BY TABLE_NAME"),
                {"s": schema},
            ).scalars()
            rows = {str(t): _count(conn, qualified_name(schema, str(t))) for t in list(tables) if t != OUTWARD_KEYS}
            copies[found.group(0)] = Copy(found.group(0), KIND_NAMES[Kind(found.group(1))], rows)
    return copies


def _sqlite_copies(engine: Engine) -> dict[str, Copy]:
    copies: dict[str, Copy] = {}
    with engine.connect() as conn:
        names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").scalars()
        for name in [str(n) for n in names]:
            for logical in PROJECTED_TABLES:
                found = LABEL.fullmatch(name[: -len(logical) - 1]) if name.endswith(f"_{logical}") else None
                if found is None:
                    continue
                copy = copies.setdefault(found.group(0), Copy(found.group(0), KIND_NAMES[Kind(found.group(1))]))
                copy.rows[logical] = _count(conn, quote_sqlite(name))
    return copies


def _count(conn: Connection, quoted: str) -> int:
    return int(conn.exec_driver_sql(f"SELECT COUNT(*) FROM {quoted}").scalar() or 0)


def drop_copy(engine: Engine, run: BootstrapRun | None, label: str) -> Copy:
    """Drop the copy ``label`` (checked first: only labels the tool makes), unless a rollback
    needs it: the kept legacy copy while cut over, or an interrupted command's."""
    names = kept_tables(engine, label, frozenset(Kind))
    if run is not None and label in (run.cutover_pending, run.rollback_pending):
        raise OperationRefused(f"{label} belongs to an interrupted cutover or rollback: rerun it first")
    if run is not None and run.cut_over and label == run.legacy_label:
        raise OperationRefused(f"{label} holds the kept legacy tables: `convtrack rollback` needs them while cut over")
    found = {copy.label: copy for copy in list_copies(engine)}
    if label not in found:
        raise NotFound(f"no tables are kept as {label}")
    drop_projection_tables(engine, names)
    return found[label]
