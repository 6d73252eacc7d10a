"""API keys: one per calling service, stored as SHA-256 digests (keys are 256-bit random
tokens, so a fast hash is enough), shown once at creation, never logged."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from sqlalchemy import Boolean, Column, Engine, MetaData, String, Table, select, update
from sqlalchemy.exc import IntegrityError

from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.values import check_varchar, utc_now
from infrastructure.database import write_transaction
from infrastructure.event_store.tables import MYSQL_TABLE_OPTIONS
from infrastructure.migrations.upgrade import require_head
from infrastructure.row_types import MillisecondDateTime

metadata = MetaData()
api_keys = Table(
    "convtrack_api_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("key_digest", String(64), nullable=False, unique=True),
    Column("created_at", MillisecondDateTime(), nullable=False),
    Column("revoked", Boolean(), nullable=False, default=False),
    **MYSQL_TABLE_OPTIONS,
)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class ApiKeys:
    def __init__(self, engine: Engine, cache_seconds: float = 10.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[str, float]] = {}
        require_head(engine)  # the migrations create the table (open_recorder)

    def create(self, name: str) -> str:
        check_varchar("name", name)
        if len(name) > 64:
            raise InvalidValue("name", "must be at most 64 characters")
        key = f"ct_{secrets.token_urlsafe(32)}"
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    api_keys.insert().values(name=name, key_digest=digest(key), created_at=utc_now(), revoked=False)
                )
        except IntegrityError:
            raise AlreadyExists(f"an API key named {name!r} already exists; revoke it first") from None
        return key

    def revoke(self, name: str) -> None:
        with write_transaction(self.engine) as conn:
            if conn.execute(update(api_keys).where(api_keys.c.name == name).values(revoked=True)).rowcount != 1:
                raise NotFound(f"no API key named {name!r}")
        self._cache.clear()

    def names(self) -> list[tuple[str, bool]]:
        with self.engine.connect() as conn:
            return [(r.name, r.revoked) for r in conn.execute(select(api_keys.c.name, api_keys.c.revoked))]

    def cached_caller(self, key: str | None) -> str | None:
        """The owner of ``key`` if a lookup found it within ``cache_seconds`` (no I/O), else None."""
        if not key or len(key) > 200:
            return None
        cached = self._cache.get(digest(key))
        return cached[0] if cached and time.monotonic() - cached[1] < self.cache_seconds else None

    def caller(self, key: str | None) -> str | None:
        """The name of the service owning ``key``, or None."""
        if not key or len(key) > 200:
            return None
        wanted = digest(key)
        cached = self._cache.get(wanted)
        if cached and time.monotonic() - cached[1] < self.cache_seconds:
            return cached[0]
        with self.engine.connect() as conn:
            row = conn.execute(
                select(api_keys.c.name, api_keys.c.key_digest).where(
                    api_keys.c.key_digest == wanted, api_keys.c.revoked.is_(False)
                )
            ).first()
        if row is None or not hmac.compare_digest(row.key_digest, wanted):
            return None
        self._cache[wanted] = (row.name, time.monotonic())
        return str(row.name)
