"""Bringing the tracker's own tables to the schema this code needs, with Alembic.

``ensure_schema`` is what every command that writes runs first (``open_recorder``): one
``SELECT`` of the recorded revision, and nothing else when it is ``HEAD``. Otherwise
``upgrade`` takes the schema lock (``database.schema_lock``: ``GET_LOCK`` on
MariaDB/MySQL; on SQLite the ``BEGIN IMMEDIATE`` of the upgrade's transaction) and runs
Alembic's ``upgrade heads`` on that connection: a process that waited for the lock finds
the revision already recorded and does nothing. Alembic itself is imported only then.

Read-only callers (``convtrack status``) use ``schema_state``, which never writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, inspect
from sqlalchemy import exc as sa_exc

from domain.errors import OperationRefused
from infrastructure.database import schema_lock, write_transaction

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "convtrack_schema_version"  # not alembic_version: the app's database may have its own
HEAD = "0002_api_key_rotation"  # the newest revision in versions/ (tests/integration/test_schema_upgrades.py checks it)
SCRIPTS = Path(__file__).resolve().parent
UPGRADE_HINT = "run `convtrack db upgrade`"


@dataclass(frozen=True)
class SchemaState:
    """Where a database's tracker schema stands: the revision recorded (None: none) and
    whether any of the tracker's tables exist without one (made before Alembic)."""

    current: str | None
    head: str
    unversioned_tables: bool = False

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.at_head:
            return f"{self.current} (head)"
        if self.current is None:
            if self.unversioned_tables:
                return f"none: tables made before schema versions, behind {self.head}; {UPGRADE_HINT}"
            return "none: nothing created yet (the first command that writes creates it)"
        if self.current in {revision for revision, _, _ in known_revisions()}:
            return f"{self.current}, behind {self.head}; {UPGRADE_HINT}"
        return f"{self.current}, unknown to this convtrack (head {self.head}): a newer convtrack made it"


def recorded_revision(engine: Engine, events_table: str | None = None) -> str | None:
    """The revision recorded in the database, or None (no version table yet): one SELECT.
    With ``events_table``, also None when that table does not exist (in the same SELECT)."""
    sql = f"SELECT version_num FROM {VERSION_TABLE}"
    if events_table is not None:
        sql += f" WHERE NOT EXISTS (SELECT 1 FROM {engine.dialect.identifier_preparer.quote(events_table)} WHERE 1 = 0)"
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(sql).scalar()
    except (sa_exc.ProgrammingError, sa_exc.OperationalError):  # no such table
        return None


def schema_state(engine: Engine, events_table: str) -> SchemaState:
    """Read only: the recorded revision against ``HEAD``."""
    tables = set(inspect(engine).get_table_names())
    current = recorded_revision(engine) if VERSION_TABLE in tables else None
    ours = {events_table, "convtrack_projection_tracking", "convtrack_api_keys"}
    return SchemaState(current, HEAD, unversioned_tables=current is None and bool(ours & tables))


def ensure_schema(engine: Engine, events_table: str) -> None:
    """The schema at ``HEAD``: one SELECT when it is already; an upgrade under the lock otherwise."""
    if recorded_revision(engine, events_table) != HEAD:
        upgrade(engine, events_table)


def require_head(engine: Engine) -> None:
    """Refuse (one line naming the command to run) unless the schema is at ``HEAD``."""
    current = recorded_revision(engine)
    if current != HEAD:
        raise OperationRefused(f"the tracker's schema is at {current or 'no version'}, not {HEAD}: {UPGRADE_HINT}")


def upgrade(engine: Engine, events_table: str, version_locations: Sequence[Path] = ()) -> tuple[str | None, str]:
    """Every pending revision, under the schema lock; (revision before, revision after).
    ``version_locations``: more revision folders (tests add a throwaway revision)."""
    from alembic import command
    from alembic.util import CommandError

    with schema_lock(engine), write_transaction(engine) as conn:
        before = _current(conn)
        config = alembic_config(events_table, version_locations, connection=conn)
        try:
            command.upgrade(config, "heads")
        except CommandError as error:
            raise OperationRefused(f"cannot upgrade the tracker's schema from {before}: {error}") from error
        if not inspect(conn).has_table(events_table):  # at head already, for another events table
            raise OperationRefused(
                f"the tracker's schema is at {before} but its events table {events_table!r} does not exist: "
                "CONVTRACK_EVENTS_TABLE names another store than the one this database holds"
            )
        return before, str(_current(conn))


def _current(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def alembic_config(events_table: str, version_locations: Sequence[Path] = (), **attributes: Any) -> Config:
    """Alembic's configuration, in code: the scripts shipped in this package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s")  # versions/<rev id>.py, e.g. 0002_lease_note.py
    folders = [SCRIPTS / "versions", *version_locations]
    config.set_main_option("version_locations", ":".join(str(folder) for folder in folders))
    config.attributes.update(events_table=events_table, **attributes)
    return config


def known_revisions() -> list[tuple[str, str | None, str]]:
    """(revision, the one it revises, its first doc line), newest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config("stored_events"))
    return [
        (str(s.revision), _down(s.down_revision), (s.doc or "").splitlines()[0] if s.doc else "")
        for s in scripts.walk_revisions()
    ]


def _down(down: str | Sequence[str] | None) -> str | None:
    return down if down is None or isinstance(down, str) else ", ".join(down)
