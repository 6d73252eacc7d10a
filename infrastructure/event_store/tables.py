"""Tables of the event store.

``stored_events`` keeps eventsourcing-sqlalchemy's layout (id, originator_id as 16
bytes, originator_version, topic, state) so the library's own recorder can read it,
but stores ``state`` as LONGBLOB on MySQL (a BLOB caps at 64 KiB).
"""

from __future__ import annotations

from sqlalchemy import (
    BINARY,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql

from infrastructure.row_types import MillisecondDateTime

MYSQL_TABLE_OPTIONS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
}

BIGINT_ID = BigInteger().with_variant(Integer(), "sqlite")


def event_store_tables(metadata: MetaData, events_table: str = "stored_events") -> tuple[Table, Table, Table]:
    """(stored events, writer lock, idempotency keys)."""
    events = Table(
        events_table,
        metadata,
        Column("id", BIGINT_ID, primary_key=True, autoincrement=True),
        Column("originator_id", BINARY(16).with_variant(LargeBinary(16), "sqlite"), nullable=False),
        Column("originator_version", BIGINT_ID, nullable=False),
        Column("topic", Text(), nullable=False),
        Column("state", LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"), nullable=False),
        Index(f"{events_table}_aggregate_idx", "originator_id", "originator_version", unique=True),
        **MYSQL_TABLE_OPTIONS,
    )
    writer_lock = Table(
        f"{events_table}_writer",
        metadata,
        Column("id", Integer(), primary_key=True, autoincrement=False),
        **MYSQL_TABLE_OPTIONS,
    )
    idempotency = Table(
        f"{events_table}_idempotency",
        metadata,
        Column("idempotency_key", String(191), primary_key=True),
        Column("command", String(64), nullable=False),
        Column("fingerprint", String(64), nullable=False),
        Column("result", Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"), nullable=False),
        Column("position", BIGINT_ID, nullable=True),
        Column("created_at", MillisecondDateTime(), nullable=False),
        **MYSQL_TABLE_OPTIONS,
    )
    return events, writer_lock, idempotency
