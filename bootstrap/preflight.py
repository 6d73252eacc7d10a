"""What would stop the bootstrap, found before it writes anything.

One list of blocking findings, each a one-line message that names the rows or columns
and what to do. ``assess`` reports them; ``bootstrap`` (and its dry run) refuses before
its first event when there is any (``refuse_if_blocked``); ``cutover`` can ask for the
triggers that would make its rename fail (``refuse_if_triggers``).

Schema checks first (columns the migration needs, column types it cannot carry exactly,
datetimes finer than milliseconds, triggers); the data checks run only when the columns
they read exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    LargeBinary,
    bindparam,
    cast,
    func,
    inspect,
    literal,
    make_url,
    select,
    text,
)

from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource, carried_exactly, exact
from bootstrap.sql_text import quote_name
from domain.errors import OperationRefused
from domain.values import QueueType
from infrastructure.database import is_sqlite, make_engine
from infrastructure.projections import legacy_ddl
from infrastructure.projections.column_types import base_type

# the columns of the reference schema: the migration reads each of them
REFERENCE = {
    "user_call_scores": (
        "id",
        "user_id",
        "current_score",
        "total_attempts",
        "last_call_outcome",
        "last_call_at",
        "created_at",
        "updated_at",
    ),
    "call_queue": (
        "id",
        "user_id",
        "queue_type",
        "priority_score",
        "status",
        "assigned_to_agent_id",
        "assigned_at",
        "queue_reason",
        "created_at",
        "updated_at",
    ),
}
TEXT_BYTES = {"tinytext": 255, "text": 65_535, "mediumtext": 16_777_215, "longtext": 4_294_967_295}
# a legacy callback's queue_reason becomes callback_reason, as the guide adds it (TEXT)
CALLBACK_REASON_TYPE = next(t for n, t, _, _ in legacy_ddl.GUIDE_NEW_COLUMNS["call_queue"] if n == "callback_reason")
CALLBACK_REASON_MAX_BYTES = TEXT_BYTES[CALLBACK_REASON_TYPE]
# columns every row needs a value in (the aggregate ids and the queue type derive from them)
REQUIRED_VALUES = (("call_queue", "queue_type"), ("call_queue", "user_id"), ("user_call_scores", "user_id"))
MISSING_COLUMN = "missing column"
NAMED = 5  # rows named in a message; the rest are counted
_DATES = {"date", "datetime", "timestamp"}
_TYPE_HINTS = {
    "bit": "convert it to TINYINT or BINARY(n)",
    "time": "convert it to VARCHAR(20) (its text) or DATETIME(3)",
    "year": "convert it to SMALLINT",
    "inet6": "convert it to VARCHAR(39)",
    "uuid": "convert it to CHAR(36)",
    "point": "convert it to its text (ST_AsText) in a TEXT column",
}
RUNBOOK = "see docs/runbook.md, 'When assess reports a blocker'"


@dataclass(frozen=True)
class Blocker:
    """``check`` names the kind of finding; ``message`` says which rows or columns and what to do."""

    check: str
    message: str


@dataclass(frozen=True)
class Target:
    """What the tracker's database enforces: MariaDB/MySQL column limits, the agents foreign key."""

    mysql: bool
    agents_fk: bool


def target_of(tracker_url: str, source: LegacySource) -> Target:
    """The tracker's database as the bootstrap will write it, read without creating anything
    (assess passes the legacy URL: the tracker is meant to live there)."""
    url = make_url(tracker_url)
    mysql = url.get_backend_name() in {"mysql", "mariadb"}
    if url.render_as_string(hide_password=False) == make_url(source.url).render_as_string(hide_password=False):
        return Target(mysql, source.has_table("agents"))
    if url.get_backend_name() == "sqlite" and not Path(str(url.database)).exists():
        return Target(mysql, False)
    engine = make_engine(tracker_url, read_only=True)
    try:
        return Target(mysql, inspect(engine).has_table("agents"))
    finally:
        engine.dispose()


def blockers(source: LegacySource, target: Target) -> list[Blocker]:
    """Every finding that would stop the bootstrap (empty: nothing does)."""
    found = _missing_columns(source)
    found += _column_types(source)
    found += _fine_datetimes(source)
    found += [Blocker("trigger", message) for message in trigger_findings(source.engine)]
    if any(b.check == MISSING_COLUMN for b in found):
        return found  # the data checks read those columns
    with source.snapshot() as conn:
        found += _null_values(source, conn)
        found += _duplicate_users(source, conn)
        if target.agents_fk and source.has_table("agents"):
            found += _unknown_agents(source, conn)
        if target.mysql:
            found += _long_callback_reasons(source, conn)
        if not is_sqlite(source.engine):
            found += _zero_dates(source, conn)
    return found


def refuse_if_blocked(source: LegacySource, target: Target) -> None:
    """Refuse (exit 5, one line naming every finding) before anything is written."""
    found = blockers(source, target)
    if found:
        raise OperationRefused(
            f"the bootstrap cannot migrate the legacy tables as they are; nothing was written: "
            f"{'; '.join(b.message for b in found)} ({RUNBOOK})"
        )


def trigger_findings(engine: Engine) -> list[str]:
    """A trigger on a migrated table makes cutover's RENAME TABLE into the kept-legacy
    database fail on MariaDB/MySQL ("Trigger in wrong schema")."""
    if is_sqlite(engine):
        return []
    query = text(
        "SELECT event_object_table, trigger_name FROM information_schema.triggers "
        "WHERE event_object_schema = DATABASE() AND event_object_table IN :tables "
        "ORDER BY event_object_table, trigger_name"
    ).bindparams(bindparam("tables", value=list(MIGRATED_TABLES), expanding=True))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        f"trigger {name} on {table}: cutover cannot move a table with a trigger to the kept-legacy "
        f"database; drop it (SHOW CREATE TRIGGER {name} to keep its text) and recreate it after cutover if needed"
        for table, name in rows
    ]


def refuse_if_triggers(engine: Engine) -> None:
    """For cutover: refuse, naming the triggers, before anything is renamed."""
    found = trigger_findings(engine)
    if found:
        raise OperationRefused(f"{'; '.join(found)} ({RUNBOOK})")


# ---------------------------------------------------------------------- schema


def _missing_columns(source: LegacySource) -> list[Blocker]:
    found = []
    for table, needed in REFERENCE.items():
        present = {c["name"] for c in source.columns(table)}
        for column in needed:
            if column not in present:
                found.append(
                    Blocker(
                        MISSING_COLUMN,
                        f"{table} has no {column} column (the migration reads it): restore it before bootstrapping",
                    )
                )
    return found


def _column_types(source: LegacySource) -> list[Blocker]:
    found = []
    for table in MIGRATED_TABLES:
        for column in source.columns(table):
            declared = column["type"]
            if carried_exactly(declared):
                continue
            found.append(
                Blocker(
                    "column type",
                    f"{table}.{column['name']} is {declared}, which the tracker cannot carry exactly: "
                    f"{_type_hint(declared)} (docs/decisions.md lists the types it carries)",
                )
            )
    return found


def _type_hint(declared: str) -> str:
    if "zerofill" in declared.lower():
        return "drop ZEROFILL (it only pads the display; the values are unchanged)"
    base = base_type(declared)[0].split("(")[0].split()[0]
    return _TYPE_HINTS.get(base, "convert it to a type the tracker carries, or drop it")


def _fine_datetimes(source: LegacySource) -> list[Blocker]:
    """DATETIME(4..6)/TIMESTAMP(4..6): the tracker keeps milliseconds (docs/decisions.md)."""
    found = []
    for table in MIGRATED_TABLES:
        for column in source.columns(table):
            base, size = base_type(column["type"])
            if base in {"datetime", "timestamp"} and size is not None and int(size) > 3:
                found.append(
                    Blocker(
                        "datetime precision",
                        f"{table}.{column['name']} is {column['type']}: the tracker keeps milliseconds, so "
                        f"verify could never pass; convert it first (ALTER TABLE {table} MODIFY "
                        f"{column['name']} {base.upper()}(3) ...: sub-millisecond digits are dropped)",
                    )
                )
    return found


# ---------------------------------------------------------------------- data


def _rows(ids: list[Any], total: int, noun: str = "ids") -> str:
    named = ", ".join(str(i) for i in ids[:NAMED])
    more = f" and {total - NAMED} more" if total > NAMED else ""
    return f"{noun} {named}{more}"


def _ids_where(conn: Connection, table: Any, key: Any, where: Any) -> tuple[list[Any], int]:
    total = int(conn.execute(select(func.count()).select_from(table).where(where)).scalar() or 0)
    if not total:
        return [], 0
    ids = list(conn.execute(select(key).where(where).order_by(key).limit(NAMED)).scalars())
    return ids, total


def _null_values(source: LegacySource, conn: Connection) -> list[Blocker]:
    """NULL in a column every row needs (checked only where the legacy column allows NULL)."""
    found = []
    for table_name, column in REQUIRED_VALUES:
        if not any(c["name"] == column and c["nullable"] for c in source.columns(table_name)):
            continue
        table = source.table(table_name)
        ids, total = _ids_where(conn, table, table.c.id, table.c[column].is_(None))
        if total:
            found.append(
                Blocker(
                    "null value",
                    f"{total} {table_name} rows have no {column} ({_rows(ids, total)}): set one before bootstrapping",
                )
            )
    return found


def _duplicate_users(source: LegacySource, conn: Connection) -> list[Blocker]:
    """Several score rows of one user (checked only where no unique index forbids them)."""
    indexes = inspect(source.engine).get_indexes("user_call_scores")
    if any(ix.get("unique") and ix.get("column_names") == ["user_id"] for ix in indexes):
        return []
    scores = source.table("user_call_scores")
    repeated = select(scores.c.user_id).group_by(scores.c.user_id).having(func.count() > 1).subquery()
    total = int(conn.execute(select(func.count()).select_from(repeated)).scalar() or 0)
    if not total:
        return []
    users = list(conn.execute(select(repeated.c.user_id).order_by(repeated.c.user_id).limit(NAMED)).scalars())
    return [
        Blocker(
            "duplicate user",
            f"{total} user_ids have several user_call_scores rows ({_rows(users, total, 'user_ids')}): "
            "one row per user; merge them (and restore the unique index) before bootstrapping",
        )
    ]


def _unknown_agents(source: LegacySource, conn: Connection) -> list[Blocker]:
    queue, agents = source.table("call_queue"), source.table("agents")
    agent = queue.c.assigned_to_agent_id
    dangling = agent.is_not(None) & ~agent.in_(select(agents.c.id))
    ids, total = _ids_where(conn, queue, queue.c.id, dangling)
    if not total:
        return []
    unknown = list(conn.execute(select(agent).where(dangling).distinct().order_by(agent).limit(NAMED)).scalars())
    return [
        Blocker(
            "unknown agent",
            f"{total} call_queue rows name an agent with no agents row ({_rows(ids, total)}; "
            f"{_rows(unknown, len(unknown), 'agents')}): the new table's foreign key refuses them; "
            "add the agents or clear assigned_to_agent_id",
        )
    ]


def _long_callback_reasons(source: LegacySource, conn: Connection) -> list[Blocker]:
    queue = source.table("call_queue")
    is_callback = exact(source, queue.c.queue_type) == exact(source, literal(QueueType.LEGACY_CALLBACK))
    too_long = is_callback & (func.length(cast(queue.c.queue_reason, LargeBinary())) > CALLBACK_REASON_MAX_BYTES)
    ids, total = _ids_where(conn, queue, queue.c.id, too_long)
    if not total:
        return []
    return [
        Blocker(
            "callback reason too long",
            f"{total} callback rows have a queue_reason over {CALLBACK_REASON_MAX_BYTES:,} bytes "
            f"({_rows(ids, total)}): "
            f"it becomes callback_reason, a {CALLBACK_REASON_TYPE.upper()} column; shorten it before bootstrapping",
        )
    ]


def _zero_dates(source: LegacySource, conn: Connection) -> list[Blocker]:
    """MariaDB/MySQL zero dates (0000-00-00, or a zero month or day) and years before 1000:
    one counting pass per table over all its date columns, then the rows of those that have any."""
    found = []
    for table in MIGRATED_TABLES:
        dates = [c["name"] for c in source.columns(table) if base_type(c["type"])[0] in _DATES]
        if not dates:
            continue
        bad = {name: _zero_date(quote_name(name)) for name in dates}
        sums = ", ".join(f"SUM({condition})" for condition in bad.values())
        totals = conn.exec_driver_sql(f"SELECT {sums} FROM {quote_name(table)}").one()
        for (name, condition), total in zip(bad.items(), totals, strict=True):
            if not total:
                continue
            ids = conn.exec_driver_sql(
                f"SELECT id FROM {quote_name(table)} WHERE {condition} ORDER BY id LIMIT {NAMED}"
            ).scalars()
            found.append(
                Blocker(
                    "zero date",
                    f"{int(total)} {table} rows have a zero or pre-1000 {name} ({_rows(list(ids), int(total))}): "
                    "set a real date or NULL (where the column allows it) before bootstrapping",
                )
            )
    return found


def _zero_date(name: str) -> str:
    return f"({name} IS NOT NULL AND (YEAR({name}) < 1000 OR MONTH({name}) = 0 OR DAYOFMONTH({name}) = 0))"
