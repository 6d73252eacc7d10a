"""The event store: eventsourcing's recorder interface on SQLAlchemy Core, for SQLite
and MariaDB/MySQL, with ordered commits, large events and idempotency keys."""
