"""Where each projection has got to, and who may apply events (the lease).

Tracking rows are advanced with a compare-and-set in the same transaction as the rows
the events produced, so an event is applied exactly once even if two followers race.
The lease makes only one follower apply at a time; another takes over when it expires.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from domain.values import utc_now
from infrastructure.database import write_transaction
from infrastructure.event_store.tables import MYSQL_TABLE_OPTIONS
from infrastructure.migrations.upgrade import require_head
from infrastructure.row_types import MillisecondDateTime

metadata = MetaData()
FAILURE_DETAIL_CHARS = 1000

tracking_table = Table(
    "convtrack_projection_tracking",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    Column("updated_at", MillisecondDateTime(), nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

lease_table = Table(
    "convtrack_projection_lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(191), nullable=False),
    Column("expires_at", MillisecondDateTime(), nullable=False),
    **MYSQL_TABLE_OPTIONS,
)

failure_table = Table(
    "convtrack_projection_failure",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("position", BigInteger().with_variant(Integer(), "sqlite"), nullable=False),
    Column("detail", String(FAILURE_DETAIL_CHARS), nullable=False),
    Column("failed_at", MillisecondDateTime(), nullable=False),
    **MYSQL_TABLE_OPTIONS,
)
"""The event a follower last failed to apply, so that every API worker's /ready can name
it (the follower may run in another process)."""


class StalePosition(Exception):
    """Another follower advanced this projection first; re-read and carry on."""


def create_tracking_tables(engine: Engine) -> None:
    """The migrations create these tables (with the event store's, ``open_recorder``):
    here the schema is only checked to be at head (one SELECT), or refused naming
    ``convtrack db upgrade``."""
    require_head(engine)


def ensure_tracking_row(engine: Engine, name: str) -> None:
    with write_transaction(engine) as conn:
        exists = conn.execute(select(tracking_table.c.name).where(tracking_table.c.name == name)).first()
        if exists is None:
            with contextlib.suppress(IntegrityError):  # created concurrently
                conn.execute(tracking_table.insert().values(name=name, position=0, updated_at=utc_now()))


def read_position(conn: Connection, name: str) -> int:
    value = conn.execute(select(tracking_table.c.position).where(tracking_table.c.name == name)).scalar()
    return int(value or 0)


def advance(conn: Connection, name: str, expected: int, new: int) -> None:
    result = conn.execute(
        update(tracking_table)
        .where(tracking_table.c.name == name, tracking_table.c.position == expected)
        .values(position=new, updated_at=utc_now())
    )
    if result.rowcount != 1:
        raise StalePosition(f"projection {name!r} is no longer at {expected}")


def set_position(conn: Connection, name: str, position: int) -> None:
    conn.execute(
        update(tracking_table).where(tracking_table.c.name == name).values(position=position, updated_at=utc_now())
    )


def drop_tracking(engine: Engine, name: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(tracking_table.delete().where(tracking_table.c.name == name))


def reset_tracking(engine: Engine, name: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(tracking_table.delete().where(tracking_table.c.name == name))
    ensure_tracking_row(engine, name)


def try_lease(engine: Engine, name: str, holder: str, ttl_seconds: float) -> bool:
    """Take or renew the lease for ``name``. True if ``holder`` holds it afterwards."""
    now = utc_now()
    expires = now + timedelta(seconds=ttl_seconds)
    with write_transaction(engine) as conn:
        row = conn.execute(
            select(lease_table.c.holder, lease_table.c.expires_at).where(lease_table.c.name == name).with_for_update()
        ).first()
        if row is None:
            try:
                conn.execute(lease_table.insert().values(name=name, holder=holder, expires_at=expires))
            except IntegrityError:
                return False
            return True
        if row.holder == holder or row.expires_at < now:
            conn.execute(
                update(lease_table).where(lease_table.c.name == name).values(holder=holder, expires_at=expires)
            )
            return True
        return False


def release_lease(engine: Engine, name: str, holder: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(lease_table.delete().where(lease_table.c.name == name, lease_table.c.holder == holder))


def steal_lease(engine: Engine, name: str, holder: str, ttl_seconds: float) -> None:
    """Take the lease whoever holds it (for a rebuild's swap). The previous holder stops
    applying at its next renewal; a batch it has in flight fails its position check."""
    expires = utc_now() + timedelta(seconds=ttl_seconds)
    with write_transaction(engine) as conn:
        updated = conn.execute(
            update(lease_table).where(lease_table.c.name == name).values(holder=holder, expires_at=expires)
        ).rowcount
        if not updated:
            conn.execute(lease_table.insert().values(name=name, holder=holder, expires_at=expires))


def record_failure(engine: Engine, name: str, position: int, detail: str) -> None:
    with write_transaction(engine) as conn:
        conn.execute(failure_table.delete().where(failure_table.c.name == name))
        conn.execute(
            failure_table.insert().values(
                name=name, position=position, detail=detail[:FAILURE_DETAIL_CHARS], failed_at=utc_now()
            )
        )


def read_failure(conn: Connection, name: str) -> tuple[int, str] | None:
    """The position and cause of the event ``name`` last failed to apply, while the
    projection still stands before it (a failure it has since got past is no failure)."""
    row = conn.execute(
        select(failure_table.c.position, failure_table.c.detail).where(failure_table.c.name == name)
    ).first()
    if row is None or read_position(conn, name) >= row.position:
        return None
    return int(row.position), str(row.detail)
