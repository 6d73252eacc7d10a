"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

Runs under the schema lock, on MariaDB/MySQL without a transaction around its DDL: write it
so that a rerun after a kill half way finishes it (see docs/schema-upgrades.md). Then set
HEAD in infrastructure/migrations/upgrade.py to this revision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade(events_table: str) -> None:
    ${upgrades if upgrades else "pass"}


def downgrade(events_table: str) -> None:
    ${downgrades if downgrades else "pass"}
