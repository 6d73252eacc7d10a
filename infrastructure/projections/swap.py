"""Moving whole tables between names atomically.

MariaDB/MySQL: one ``RENAME TABLE a TO b, c TO d, ...`` statement (atomic, and able to
move tables between databases of the same server). SQLite: ``ALTER TABLE ... RENAME``
inside one transaction; SQLite index names are global to the file, so each moved
table's indexes are re-created under the destination's prefix in that transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, inspect

from infrastructure.database import is_sqlite, write_transaction
from infrastructure.projections import tracking as tracking_rows
from infrastructure.projections.tables import TableNames, quote_mysql, quote_sqlite


@dataclass(frozen=True)
class Move:
    logical: str
    source: TableNames
    target: TableNames


def swap_tables(engine: Engine, moves: list[Move], *, tracking: tuple[str, int] | None = None) -> None:
    """Apply ``moves`` in order, all or nothing; then set a projection's position."""
    if is_sqlite(engine):
        with write_transaction(engine) as conn:
            for move in moves:
                _sqlite_move(conn, move)
            if tracking is not None:
                tracking_rows.set_position(conn, *tracking)
        return
    with engine.begin() as conn:
        for schema in {m.target.schema for m in moves if m.target.schema}:
            conn.exec_driver_sql(
                f"CREATE DATABASE IF NOT EXISTS {quote_mysql(schema)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
            )
    renames = ", ".join(f"{m.source.qualified(m.logical)} TO {m.target.qualified(m.logical)}" for m in moves)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"RENAME TABLE {renames}")
    if tracking is not None:
        # A crash before this line leaves the live position behind the tables; replaying
        # that suffix converges (row changes are absolute, inserts are upserts).
        with write_transaction(engine) as conn:
            tracking_rows.set_position(conn, *tracking)


def _sqlite_move(conn: Connection, move: Move) -> None:
    source = move.source.all()[move.logical]
    target = move.target.all()[move.logical]
    source_prefix = source[: len(source) - len(move.logical)]
    target_prefix = target[: len(target) - len(move.logical)]
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (source,),
    ).all()
    for name, _sql in indexes:
        conn.exec_driver_sql(f"DROP INDEX {quote_sqlite(name)}")
    conn.exec_driver_sql(f"ALTER TABLE {quote_sqlite(source)} RENAME TO {quote_sqlite(target)}")
    for name, sql in indexes:
        bare = name[len(source_prefix) :] if source_prefix and name.startswith(source_prefix) else name
        head = f"INDEX {quote_sqlite(f'{target_prefix}{bare}')} ON {quote_sqlite(target)}"
        statement = re.sub(
            r'^CREATE (UNIQUE )?INDEX\s+("[^"]+"|\S+)\s+ON\s+("[^"]+"|\S+)',
            lambda m, head=head: f"CREATE {m.group(1) or ''}{head}",
            sql,
            count=1,
        )
        conn.exec_driver_sql(statement)


def table_exists(engine: Engine, names: TableNames, logical: str) -> bool:
    return inspect(engine).has_table(names.all()[logical], schema=names.schema)
