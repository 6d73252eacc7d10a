"""The tracker's own schema under Alembic: the event store's tables, projection tracking,
the follower lease, the projection failure record and the API keys.

``upgrade.py`` is the only way in (``ensure_schema``, ``upgrade``, ``schema_state``);
``env.py`` and ``versions/`` are Alembic's environment and scripts, configured in code
(no ``alembic.ini``), shipped inside the package. The app's tables (``legacy_ddl.py``)
are projections and are not migrated here. See docs/schema-upgrades.md.
"""
