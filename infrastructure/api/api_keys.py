"""API keys: one per calling service, stored as SHA-256 digests (keys are 256-bit random
tokens, so a fast hash is enough), shown once at creation, never logged.

Every worker keeps the valid keys in memory and reads the (small) table again when its
copy is older than ``REFRESH_SECONDS`` or a key is not in it, so a revocation made by any
process takes effect everywhere within that time plus one read. Rotation gives the name a
new key; the old one keeps working for the grace period (``previous_digest`` until
``previous_valid_until``). A revoked name can be created again (its row is reused).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Boolean, Column, Engine, MetaData, String, Table, select, update
from sqlalchemy.exc import IntegrityError

from domain.errors import AlreadyExists, InvalidValue, NotFound
from domain.values import check_varchar, utc_now
from infrastructure.database import write_transaction
from infrastructure.event_store.tables import MYSQL_TABLE_OPTIONS
from infrastructure.migrations.upgrade import require_head
from infrastructure.row_types import MillisecondDateTime

REFRESH_SECONDS = 0.5
MAX_GRACE_SECONDS = 30 * 24 * 3600

metadata = MetaData()
api_keys = Table(
    "convtrack_api_keys",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("key_digest", String(64), nullable=False, unique=True),
    Column("created_at", MillisecondDateTime(), nullable=False),
    Column("revoked", Boolean(), nullable=False, default=False),
    # added for rotation (revision 0002_api_key_rotation)
    Column("previous_digest", String(64), nullable=True),
    Column("previous_valid_until", MillisecondDateTime(), nullable=True),
    **MYSQL_TABLE_OPTIONS,
)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh key and its digest."""
    key = f"ct_{secrets.token_urlsafe(32)}"
    return key, digest(key)


class KeyState(NamedTuple):
    name: str
    revoked: bool
    previous_valid_until: datetime | None  # the old key of a rotation works until then


class ApiKeys:
    def __init__(self, engine: Engine, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.engine = engine
        self.refresh_seconds = refresh_seconds
        self._valid: dict[str, tuple[str, datetime | None]] = {}  # digest -> (name, valid until)
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        require_head(engine)  # the migrations create the table (open_recorder)

    # ------------------------------------------------------------------ managing

    def create(self, name: str) -> str:
        """A key for ``name``; a revoked name gets a new key, an active one is refused."""
        check_varchar("name", name)
        if len(name) > 64:
            raise InvalidValue("name", "must be at most 64 characters")
        key, key_digest = new_key()
        fresh = {"key_digest": key_digest, "created_at": utc_now(), "revoked": False}
        unrotated = {"previous_digest": None, "previous_valid_until": None}
        active = AlreadyExists(f"an API key named {name!r} is active; rotate it or revoke it first")
        try:
            with write_transaction(self.engine) as conn:
                found = conn.execute(select(api_keys.c.revoked).where(api_keys.c.name == name)).first()
                if found is None:
                    conn.execute(api_keys.insert().values(name=name, **fresh, **unrotated))
                elif found.revoked:
                    conn.execute(update(api_keys).where(api_keys.c.name == name).values(**fresh, **unrotated))
                else:
                    raise active
        except IntegrityError:  # created at the same moment by another process
            raise active from None
        return key

    def rotate(self, name: str, grace_seconds: int = 0) -> tuple[str, datetime | None]:
        """A new key for ``name``; the old one works ``grace_seconds`` more (0: revoked now).
        A key still in the grace of an earlier rotation stops now. Returns the key and
        until when the old one works."""
        if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise InvalidValue("grace_seconds", f"must be between 0 and {MAX_GRACE_SECONDS}")
        key, key_digest = new_key()
        now = utc_now()
        until = now + timedelta(seconds=grace_seconds) if grace_seconds else None
        with write_transaction(self.engine) as conn:
            found = conn.execute(select(api_keys.c.key_digest, api_keys.c.revoked).where(api_keys.c.name == name))
            row = found.first()
            if row is None or row.revoked:
                raise NotFound(f"no active API key named {name!r} (create it instead)")
            conn.execute(
                update(api_keys)
                .where(api_keys.c.name == name)
                .values(
                    key_digest=key_digest,
                    created_at=now,
                    previous_digest=row.key_digest if until else None,
                    previous_valid_until=until,
                )
            )
        self._loaded_at = float("-inf")
        return key, until

    def revoke(self, name: str) -> None:
        """Revoke the name's key (and a rotated key still in its grace period)."""
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                update(api_keys)
                .where(api_keys.c.name == name)
                .values(revoked=True, previous_digest=None, previous_valid_until=None)
            )
            if done.rowcount != 1:
                raise NotFound(f"no API key named {name!r}")
        self._loaded_at = float("-inf")

    def states(self) -> list[KeyState]:
        now = utc_now()
        columns = (api_keys.c.name, api_keys.c.revoked, api_keys.c.previous_valid_until)
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).order_by(api_keys.c.name)).all()
        return [KeyState(r.name, bool(r.revoked), _still(r.previous_valid_until, now)) for r in rows]

    def names(self) -> list[tuple[str, bool]]:
        return [(state.name, state.revoked) for state in self.states()]

    # ------------------------------------------------------------------ checking

    def cached_caller(self, key: str | None) -> str | None:
        """The owner of ``key`` from a copy younger than ``refresh_seconds`` (no I/O), else None."""
        if not key or len(key) > 200 or time.monotonic() - self._loaded_at >= self.refresh_seconds:
            return None
        return self._owner(digest(key))

    def caller(self, key: str | None) -> str | None:
        """The name of the service owning ``key``, or None (reads the table when the copy is
        stale or lacks the key: a key made meanwhile by another process works at once)."""
        if not key or len(key) > 200:
            return None
        wanted = digest(key)
        if time.monotonic() - self._loaded_at < self.refresh_seconds and (found := self._owner(wanted)):
            return found
        self._reload()
        return self._owner(wanted)

    def _owner(self, wanted: str) -> str | None:
        found = self._valid.get(wanted)
        if found is None:
            return None
        name, until = found
        return name if until is None or utc_now() <= until else None

    def _reload(self) -> None:
        with self._lock:
            started = time.monotonic()
            k = api_keys.c
            query = select(k.name, k.key_digest, k.previous_digest, k.previous_valid_until).where(k.revoked.is_(False))
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            valid: dict[str, tuple[str, datetime | None]] = {r.key_digest: (r.name, None) for r in rows}
            for r in rows:
                if r.previous_digest and r.previous_valid_until is not None:
                    valid[r.previous_digest] = (r.name, r.previous_valid_until)
            self._valid, self._loaded_at = valid, started


def _still(until: datetime | None, now: datetime) -> datetime | None:
    return until if until is not None and until >= now else None
