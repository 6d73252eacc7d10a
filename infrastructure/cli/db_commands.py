"""``convtrack db``: the tracker's own schema (Alembic, ``infrastructure/migrations``).

``upgrade`` brings the database to the schema this convtrack needs (the commands that
write do it themselves); ``current`` and ``history`` only read."""

from __future__ import annotations

import typer

from infrastructure.database import make_engine
from infrastructure.migrations.upgrade import HEAD, known_revisions, schema_state, upgrade
from infrastructure.settings import Settings
from infrastructure.wiring import read_only_engine

db = typer.Typer(help="The tracker's own tables: schema upgrades (Alembic).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(db, name="db")


@db.command("upgrade")
def upgrade_schema() -> None:
    """Bring the tracker's tables to this convtrack's schema (a no-op when already there).
    Safe to run from several hosts at once: one upgrades, the others wait and find it done."""
    settings = Settings()
    checked = read_only_engine(settings)  # a bad URL is InvalidValue (exit 2) before anything is created
    if checked is not None:
        checked.dispose()
    engine = make_engine(settings.database_url)
    try:
        before, after = upgrade(engine, settings.events_table)
    finally:
        engine.dispose()
    if before == after:
        typer.echo(f"schema: already at {after} (head); nothing to do")
    else:
        typer.echo(f"schema: upgraded from {before or 'no version'} to {after}")


@db.command("current")
def current() -> None:
    """The schema revision the database records, against this convtrack's (read only)."""
    settings = Settings()
    engine = read_only_engine(settings)
    if engine is None:
        typer.echo("schema: no database yet (the first command that writes creates it)")
        return
    try:
        typer.echo(f"schema: {schema_state(engine, settings.events_table).describe()}")
    finally:
        engine.dispose()


@db.command("history")
def history() -> None:
    """The schema revisions this convtrack knows, newest first (reads no database)."""
    for revision, down, doc in known_revisions():
        mark = " (head)" if revision == HEAD else ""
        typer.echo(f"{down or '<base>'} -> {revision}{mark}: {doc}")
