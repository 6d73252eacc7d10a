"""Alembic's environment, run by ``alembic.command`` (``upgrade.py`` configures it in code).

Always online, on the connection ``upgrade.py`` opened and locked; the events table's name
(``CONVTRACK_EVENTS_TABLE``) goes to every revision's ``upgrade(events_table=...)``."""

from __future__ import annotations

from alembic import context

from infrastructure.migrations.upgrade import VERSION_TABLE

if context.is_offline_mode():
    raise RuntimeError("the tracker's migrations run online only: use `convtrack db upgrade`")

config = context.config
context.configure(connection=config.attributes["connection"], version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations(events_table=config.attributes["events_table"])
