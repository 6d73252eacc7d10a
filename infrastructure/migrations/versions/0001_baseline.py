"""Baseline: the tables the tracker made before its schema had versions.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-01

Exactly what ``create_all(checkfirst=True)`` made up to 270ff69 (the event store's tables,
projection tracking, lease and failure, the API keys), frozen here: a later change to the
runtime ``Table`` definitions is a new revision, never an edit of this one.

A database made before Alembic has some or all of these tables and no version: a table
that is missing is created, a table that exists must match (columns, types, nullability,
keys and indexes) or the upgrade stops naming the difference, before anything is written.
Rerunnable: on MariaDB/MySQL every CREATE commits by itself, so a run killed half way is
finished by the next.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import mysql

from domain.errors import OperationRefused

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

OPTIONS = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4", "mysql_collate": "utf8mb4_bin"}
BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MILLISECONDS = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql", "mariadb")


def event_store(metadata: sa.MetaData, events_table: str) -> None:
    sa.Table(
        events_table,
        metadata,
        sa.Column("id", BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("originator_id", sa.BINARY(16).with_variant(sa.LargeBinary(16), "sqlite"), nullable=False),
        sa.Column("originator_version", BIGINT_ID, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("state", sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"), nullable=False),
        sa.Index(f"{events_table}_aggregate_idx", "originator_id", "originator_version", unique=True),
        **OPTIONS,
    )
    sa.Table(
        f"{events_table}_writer",
        metadata,
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        **OPTIONS,
    )
    sa.Table(
        f"{events_table}_idempotency",
        metadata,
        sa.Column("idempotency_key", sa.String(191), primary_key=True),
        sa.Column("command", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("result", sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb"), nullable=False),
        sa.Column("position", BIGINT_ID, nullable=True),
        sa.Column("created_at", MILLISECONDS, nullable=False),
        **OPTIONS,
    )


def projections_and_keys(metadata: sa.MetaData) -> None:
    sa.Table(
        "convtrack_projection_tracking",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", BIGINT_ID, nullable=False),
        sa.Column("updated_at", MILLISECONDS, nullable=False),
        **OPTIONS,
    )
    sa.Table(
        "convtrack_projection_lease",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(191), nullable=False),
        sa.Column("expires_at", MILLISECONDS, nullable=False),
        **OPTIONS,
    )
    sa.Table(
        "convtrack_projection_failure",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", BIGINT_ID, nullable=False),
        sa.Column("detail", sa.String(1000), nullable=False),
        sa.Column("failed_at", MILLISECONDS, nullable=False),
        **OPTIONS,
    )
    sa.Table(
        "convtrack_api_keys",
        metadata,
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("key_digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", MILLISECONDS, nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False, default=False),
        **OPTIONS,
    )


def baseline(events_table: str) -> sa.MetaData:
    metadata = sa.MetaData()
    event_store(metadata, events_table)
    projections_and_keys(metadata)
    return metadata


def upgrade(events_table: str) -> None:
    bind = op.get_bind()
    metadata = baseline(events_table)
    existing = set(sa.inspect(bind).get_table_names())
    refuse_differences(bind, metadata, existing)
    for table in metadata.sorted_tables:
        if table.name not in existing:
            table.create(bind)
    writer = metadata.tables[f"{events_table}_writer"]
    if bind.execute(sa.select(writer.c.id)).first() is None:
        bind.execute(sa.insert(writer).values(id=1))


def refuse_differences(bind: sa.Connection, metadata: sa.MetaData, existing: set[str]) -> None:
    """The tables made before Alembic must be the baseline's; anything else is refused."""
    ours = {name for name in metadata.tables if name in existing}
    if not ours:
        return
    context = MigrationContext.configure(
        bind,
        opts={
            "compare_type": True,
            "include_name": lambda name, kind, parent: kind != "table" or name in ours,
        },
    )
    differences = [d for d in compare_metadata(context, metadata) if not _missing_table(d)]
    if differences:
        raise OperationRefused(
            f"the tracker's existing tables differ from the baseline schema: {differences}; "
            "nothing was changed (see docs/schema-upgrades.md)"
        )


def _missing_table(difference: object) -> bool:
    return isinstance(difference, tuple) and difference[0] == "add_table"


def downgrade(events_table: str) -> None:
    raise OperationRefused("the baseline is not downgraded: it would drop the event store")
