"""Looking at a tracker database around a cutover or rollback: which tables exist, how
many events, the tracking and lease rows, the rows of a set of tables, the run's record."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, inspect, text

from domain.bootstrap_run import BootstrapRun
from infrastructure.database import is_sqlite, make_engine
from infrastructure.projections.tables import TableNames, quote_sqlite
from infrastructure.settings import Settings
from infrastructure.wiring import read_lifecycle


def everything_stored(url: str) -> dict[str, Any]:
    """What any write would change: the tables (with the kept and staging sets), the event
    count, the tracking and lease rows."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if is_sqlite(engine):
                tables = conn.execute(text("SELECT type, name FROM sqlite_master ORDER BY name")).all()
            else:
                tables = conn.execute(
                    text(
                        "SELECT table_schema, table_name FROM information_schema.tables "
                        "WHERE table_schema LIKE :prefix ORDER BY 1, 2"
                    ),
                    {"prefix": f"{engine.url.database}%"},
                ).all()
            names = set(inspect(conn).get_table_names())
            state: dict[str, Any] = {"tables": [tuple(t) for t in tables]}
            for table in ("stored_events", "convtrack_projection_tracking", "convtrack_projection_lease"):
                if table in names:
                    order = "id" if table == "stored_events" else "name"
                    state[table] = [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]
        return state
    finally:
        engine.dispose()


def table_rows(engine: Engine, names: TableNames, logical: str) -> list[tuple[Any, ...]]:
    quoted = quote_sqlite(names.all()[logical]) if is_sqlite(engine) else names.qualified(logical)
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {quoted} ORDER BY id"))]


def has_tables(engine: Engine, names: TableNames, *logical: str) -> bool:
    return all(inspect(engine).has_table(names.all()[t], schema=names.schema) for t in logical)


def bootstrap_run(url: str) -> BootstrapRun:
    run = read_lifecycle(Settings(database_url=url)).run
    assert run is not None
    return run
