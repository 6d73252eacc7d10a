"""API key rotation: the old key's digest and the moment it stops working.

Revision ID: 0002_api_key_rotation
Revises: 0001_baseline
Create Date: 2026-12-01

``convtrack api-key rotate NAME --grace-seconds N`` keeps the replaced key working for N
seconds: the key row carries the replaced digest and its end. Both columns are nullable
(a key never rotated has neither), so the change is an ADD COLUMN on a small table.
Rerunnable: a column that is already there is left as it is (on MariaDB/MySQL each ALTER
commits by itself, so a run killed between the two is finished by the next).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from domain.errors import OperationRefused

revision = "0002_api_key_rotation"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

TABLE = "convtrack_api_keys"
MILLISECONDS = sa.DateTime().with_variant(mysql.DATETIME(fsp=3), "mysql", "mariadb")
COLUMNS = {"previous_digest": sa.String(64), "previous_valid_until": MILLISECONDS}


def upgrade(events_table: str) -> None:
    present = {column["name"] for column in sa.inspect(op.get_bind()).get_columns(TABLE)}
    for name, kind in COLUMNS.items():
        if name not in present:
            op.add_column(TABLE, sa.Column(name, kind, nullable=True))


def downgrade(events_table: str) -> None:
    raise OperationRefused("revisions are not downgraded: install the newer convtrack again")
