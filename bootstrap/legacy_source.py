"""Reading the legacy tables: one consistent snapshot over a read-only connection, in
keyset batches, with every value typed exactly (Decimal, DATETIME(3), text bytes)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BINARY, Column, Connection, Engine, MetaData, Table, and_, cast, func, inspect, or_, select, text
from sqlalchemy.types import NullType, TypeEngine

from bootstrap.sql_text import quote_name
from domain.bootstrap_run import BootstrapRun
from domain.errors import OperationRefused
from infrastructure.database import is_sqlite, make_engine
from infrastructure.projections.column_types import sa_type

MIGRATED_TABLES = ("user_call_scores", "call_queue")


class LegacySource:
    """The legacy database, read only."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url, read_only=True)
        self._tables: dict[str, Table] = {}

    # ------------------------------------------------------------------ schema

    def has_table(self, name: str) -> bool:
        return inspect(self.engine).has_table(name)

    def _quoted(self, name: str) -> str:
        return quote_name(name, self.engine.dialect)

    def require_tables(self) -> None:
        missing = [t for t in MIGRATED_TABLES if not self.has_table(t)]
        if missing:
            raise OperationRefused(
                f"legacy tables not found in {self.engine.url.render_as_string()}: {', '.join(missing)}"
            )

    def columns(self, name: str) -> list[dict[str, Any]]:
        """Each column as ``{name, type, nullable, default}`` in table order."""
        if is_sqlite(self.engine):
            with self.engine.connect() as conn:
                rows = conn.exec_driver_sql(f"PRAGMA table_info({self._quoted(name)})").all()
            return [
                {"name": r[1], "type": (r[2] or "text").lower(), "nullable": not r[3], "default": r[4]} for r in rows
            ]
        with self.engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT column_name, column_type, is_nullable, column_default FROM information_schema.columns "
                    "WHERE table_schema = DATABASE() AND table_name = :t ORDER BY ordinal_position"
                ),
                {"t": name},
            ).all()
        return [{"name": r[0], "type": str(r[1]).lower(), "nullable": r[2] == "YES", "default": r[3]} for r in rows]

    def create_sql(self, name: str) -> str | None:
        if is_sqlite(self.engine):
            return None
        with self.engine.connect() as conn:
            return str(conn.exec_driver_sql(f"SHOW CREATE TABLE {self._quoted(name)}").one()[1])

    def table(self, name: str) -> Table:
        if name not in self._tables:
            metadata = MetaData()
            columns = [
                Column(c["name"], _read_type(c["type"]), primary_key=c["name"] == "id") for c in self.columns(name)
            ]
            self._tables[name] = Table(name, metadata, *columns)
        return self._tables[name]

    # ------------------------------------------------------------------ snapshot

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """One transaction seeing all tables as of one moment."""
        with self.engine.connect() as conn:
            if is_sqlite(self.engine):
                conn.exec_driver_sql("SELECT 1")  # BEGIN is issued; the first read fixes the WAL snapshot
                for name in MIGRATED_TABLES:
                    conn.exec_driver_sql(f"SELECT COUNT(*) FROM {self._quoted(name)}")
            else:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            try:
                yield conn
            finally:
                conn.rollback()

    def count(self, conn: Connection, name: str) -> int:
        return int(conn.execute(select(func.count()).select_from(self.table(name))).scalar() or 0)

    def batches(
        self,
        conn: Connection,
        name: str,
        *,
        key: tuple[str, ...] = ("id",),
        size: int = 5000,
        where: Any = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Keyset batches ordered by ``key`` (unique)."""
        table = self.table(name)
        columns = [table.c[k] for k in key]
        last: tuple[Any, ...] | None = None
        while True:
            query = select(table).order_by(*columns).limit(size)
            if where is not None:
                query = query.where(where)
            if last is not None:
                query = query.where(_after(columns, last))
            rows = [dict(r._mapping) for r in conn.execute(query)]
            if not rows:
                return
            yield rows
            last = tuple(rows[-1][k] for k in key)
            if len(rows) < size:
                return

    def checksum(self, name: str) -> str:
        return table_checksum(self.engine, self._quoted(name))

    def close(self) -> None:
        self.engine.dispose()


def table_checksum(engine: Engine, quoted: str) -> str:
    """MariaDB/MySQL: CHECKSUM TABLE ... EXTENDED. SQLite: SHA-256 over every row. Both
    depend on the rows only, so a table keeps its checksum when it is renamed or moved."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            found = conn.exec_driver_sql(f"CHECKSUM TABLE {quoted} EXTENDED").one()
            return f"checksum:{found[1]}"
        digest = hashlib.sha256()
        for row in conn.exec_driver_sql(f"SELECT * FROM {quoted} ORDER BY rowid"):
            digest.update(repr(tuple(row)).encode("utf-8"))
        return f"sha256:{digest.hexdigest()}"


def exact(source: LegacySource, column: Any) -> Any:
    """``column`` compared by its bytes (as the domain compares), not by MySQL's _ci
    collation, which would fold 'Callback' and 'callback ' into 'callback'."""
    return column if is_sqlite(source.engine) else cast(column, BINARY())


def carried_exactly(declared: str) -> bool:
    """Whether the tracker reads and writes values of this column type exactly."""
    try:
        sa_type(declared)
    except ValueError:
        return False
    return True


def _read_type(declared: str) -> TypeEngine[Any]:
    """The column's exact type; a type the tracker cannot carry gets no type at all, so
    ``assess`` and the preflight can still count rows (``preflight`` refuses such a column
    before any value of it is read)."""
    return sa_type(declared) if carried_exactly(declared) else NullType()


def _after(columns: list[Any], last: tuple[Any, ...]) -> Any:
    """Row-value comparison ``(a, b) > (x, y)`` spelled portably."""
    if len(columns) == 1:
        return columns[0] > last[0]
    first, rest = columns[0], columns[1:]
    return or_(first > last[0], and_(first == last[0], _after(rest, last[1:])))


def changed_legacy_tables(run: BootstrapRun, source: LegacySource) -> list[str]:
    """Names of legacy tables whose checksum differs from the bootstrap's snapshot."""
    return [name for name in MIGRATED_TABLES if source.checksum(name) != run.legacy_checksums.get(name)]


def refuse_if_legacy_changed(run: BootstrapRun, source: LegacySource) -> None:
    """The bootstrap's own check at its end: the legacy tables are what it started from."""
    changed = changed_legacy_tables(run, source)
    if changed:
        raise OperationRefused(
            f"the legacy tables changed while the bootstrap read them ({', '.join(changed)}: checksum differs "
            "from the start); the bootstrap is not complete. Stop the app's writes and see docs/runbook.md"
        )
