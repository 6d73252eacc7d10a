"""Everything a command could have changed in a database, to compare before and after:
every table's definition and a checksum of its rows, in the database and in its sibling
databases (MariaDB: ``<db>_ct_*``; SQLite keeps siblings in the same file), and the files
in some folders."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, inspect, make_url, text

from infrastructure.database import make_engine

State = dict[str, Any]


def database_state(url: str) -> State:
    """{table: (definition, row checksum)}; an SQLite file that does not exist is {}."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(str(parsed.database)).exists():
        return {}
    engine = make_engine(url, read_only=True)
    try:
        with engine.connect() as conn:
            if parsed.get_backend_name() == "sqlite":
                return _sqlite_state(conn)
            return _mariadb_state(conn, str(parsed.database))
    finally:
        engine.dispose()


def _sqlite_state(conn: Connection) -> State:
    state: State = {}
    for kind, name, sql in conn.exec_driver_sql("SELECT type, name, sql FROM sqlite_master ORDER BY name"):
        if kind != "table":
            state[f"{kind} {name}"] = sql
            continue
        rows = sorted(repr(tuple(row)) for row in conn.exec_driver_sql(f'SELECT * FROM "{name}"'))
        state[name] = (sql, hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return state


def _mariadb_state(conn: Connection, database: str) -> State:
    state: State = {}
    schemas = [s for s in inspect(conn).get_schema_names() if s == database or s.startswith(f"{database}_ct_")]
    for schema in sorted(schemas):
        for table in sorted(inspect(conn).get_table_names(schema=schema)):
            qualified = f"`{schema}`.`{table}`"
            create = conn.exec_driver_sql(f"SHOW CREATE TABLE {qualified}").one()[1]
            checksum = conn.exec_driver_sql(f"CHECKSUM TABLE {qualified} EXTENDED").one()[1]
            state[f"{schema}.{table}"] = (create, checksum)
    return state


def files_under(*folders: Path) -> set[str]:
    """Every file and folder below ``folders`` (SQLite's -wal and -shm companions left
    out: a reader may open and close them; what they hold is in the rows)."""
    found: set[str] = set()
    for folder in folders:
        for path in folder.rglob("*"):
            if not path.name.endswith(("-wal", "-shm")):
                found.add(str(path))
    return found


def event_count(url: str) -> int:
    """How many events the store at ``url`` holds."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT COUNT(*) FROM stored_events")).scalar() or 0)
    finally:
        engine.dispose()
