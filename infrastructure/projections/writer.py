"""Folds a batch of row changes into one final change per row and writes them with
few statements: multi-row upserts, deletes by key, updates grouped by column set.

Every change carries absolute column values (see domain.rows), and inserts are upserts,
so re-applying a suffix of events in order converges to the same rows: a crash between
a table swap and its tracking update can never corrupt a table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, select, update
from sqlalchemy.dialects import mysql, sqlite

from domain.rows import RowChange

# (table, what happened, the ids concerned, how many rows): rows a write of the live tables
# met that the events never made (a foreign insert, or a foreign delete before an update)
ForeignRows = Callable[[str, str, list[str], int], None]


@dataclass(slots=True)
class _Pending:
    kind: str  # insert | update | delete
    values: dict[str, Any] = field(default_factory=dict)
    delete_first: bool = False


class BatchFold:
    """The net effect of a run of row changes on one table."""

    def __init__(self) -> None:
        self.rows: dict[str, _Pending] = {}

    def add(self, change: RowChange) -> None:
        """Takes ownership of ``change.values`` (a RowChange's values are its own copy)."""
        current = self.rows.get(change.row_id)
        if change.kind == "insert":
            replaced = current is not None and (current.kind == "delete" or current.delete_first)
            self.rows[change.row_id] = _Pending("insert", change.values, delete_first=replaced)
        elif change.kind == "update":
            if current is None:
                self.rows[change.row_id] = _Pending("update", change.values)
            elif current.kind in {"insert", "update"}:
                current.values.update(change.values)
            # an update after a delete in the same batch touches no row: nothing to do
        elif change.kind == "delete":
            self.rows[change.row_id] = _Pending("delete")

    def __len__(self) -> int:
        return len(self.rows)


def write_fold(
    conn: Connection,
    table: Table,
    fold: BatchFold,
    on_foreign: ForeignRows | None = None,
    *,
    check_updates: bool = True,
) -> None:
    """``on_foreign`` (the live tables, SQLite's path): the rows met that the events never
    made, found with one query per batch for the inserts and, only when an update's count
    is short (and ``check_updates``), one for the updates."""
    if on_foreign is not None:
        new = [row_id for row_id, p in fold.rows.items() if p.kind == "insert" and not p.delete_first]
        existing = _present(conn, table, new)
        if existing:
            on_foreign(table.name, "insert met existing rows", existing, len(existing))
    deletes = [row_id for row_id, p in fold.rows.items() if p.kind == "delete" or p.delete_first]
    if deletes:
        for chunk in _chunks(deletes, 1000):
            conn.execute(delete(table).where(table.c.id.in_(chunk)))
    inserts: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row_id, pending in fold.rows.items():
        if pending.kind == "insert":
            row = {k: v for k, v in pending.values.items() if k in table.c}
            inserts[tuple(sorted(row))].append(row)
        elif pending.kind == "update":
            values = {f"v_{k}": v for k, v in pending.values.items() if k in table.c and k != "id"}
            if values:
                values["v__row_id"] = row_id
                updates[tuple(sorted(values))].append(values)
    for columns, rows in inserts.items():
        conn.execute(_upsert(conn, table, [c for c in columns if c != "id"]), rows)
    for columns, rows in updates.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("v__row_id"))
            .values({c[2:]: bindparam(c) for c in columns if c != "v__row_id"})
        )
        found = conn.execute(statement, rows).rowcount
        if on_foreign is not None and check_updates and 0 <= found < len(rows):
            ids = [row["v__row_id"] for row in rows]
            present = set(_present(conn, table, ids))
            missing = [row_id for row_id in ids if row_id not in present]
            if missing:
                on_foreign(table.name, "update found no row", missing, len(missing))


def _present(conn: Connection, table: Table, ids: list[str]) -> list[str]:
    """Those of ``ids`` that have a row."""
    found: list[str] = []
    for chunk in _chunks(ids, 500):
        found += [str(row_id) for row_id in conn.execute(select(table.c.id).where(table.c.id.in_(chunk))).scalars()]
    return found


def _upsert(conn: Connection, table: Table, columns: list[str]) -> Any:
    if conn.dialect.name == "sqlite":
        statement = sqlite.insert(table)
        return statement.on_conflict_do_update(
            index_elements=[table.c.id], set_={c: statement.excluded[c] for c in columns}
        )
    statement = mysql.insert(table)
    return statement.on_duplicate_key_update({c: statement.inserted[c] for c in columns})


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
