"""A realistic legacy database for demos, tests and benchmarks, with the edge cases a
real installation has: unicode, quotes and tabs in text; NULLs; extreme integers;
several pending entries per user; callback entries; orphans on both sides; and extra
columns the reference schema does not list (``referral_code``, ``scheduled_for``)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table, insert

from infrastructure.database import is_sqlite, write_transaction
from infrastructure.projections import legacy_ddl
from infrastructure.projections.column_types import sa_type

EXTRA_COLUMNS = {
    "user_call_scores": [("referral_code", "varchar(32)", True, None)],
    "call_queue": [("scheduled_for", "datetime(3)", True, None)],
}
AGENT_COLUMNS = [
    ("id", "int", False, None),
    ("name", "varchar(191)", False, None),
    ("email", "varchar(191)", False, None),
    ("is_active", "tinyint(1)", False, "1"),
    ("created_at", "datetime(3)", False, None),
]
SESSION_COLUMNS = [
    ("id", "varchar(191)", False, None),
    ("user_id", "bigint", False, None),
    ("agent_id", "int", False, None),
    ("call_queue_id", "varchar(191)", True, None),
    ("started_at", "datetime(3)", False, None),
    ("ended_at", "datetime(3)", True, None),
    ("status", "varchar(191)", False, None),
    ("outcome", "varchar(191)", True, None),
    ("duration_seconds", "int", True, None),
]
AGENTS_DDL = """CREATE TABLE `agents` (
  `id` INTEGER NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(191) NOT NULL,
  `email` VARCHAR(191) NOT NULL,
  `is_active` BOOLEAN NOT NULL DEFAULT true,
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  UNIQUE INDEX `agents_email_key`(`email`),
  PRIMARY KEY (`id`)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"""
SESSIONS_DDL = """CREATE TABLE `call_sessions` (
  `id` VARCHAR(191) NOT NULL,
  `user_id` BIGINT NOT NULL,
  `agent_id` INTEGER NOT NULL,
  `call_queue_id` VARCHAR(191) NULL,
  `started_at` DATETIME(3) NOT NULL,
  `ended_at` DATETIME(3) NULL,
  `status` VARCHAR(191) NOT NULL,
  `outcome` VARCHAR(191) NULL,
  `duration_seconds` INTEGER NULL,
  INDEX `call_sessions_user_id_idx`(`user_id`),
  INDEX `call_sessions_agent_id_idx`(`agent_id`),
  PRIMARY KEY (`id`),
  CONSTRAINT `call_sessions_agent_id_fkey` FOREIGN KEY (`agent_id`) REFERENCES `agents`(`id`) ON DELETE RESTRICT ON UPDATE CASCADE
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"""

TEXTS = [
    "needs ID",
    'said "call later"',
    "it's the wife's phone",
    "tab\there",
    "Müller — ünïcödé ✓",
    "名前",
    "emoji 🎉",
    "'; DROP TABLE call_queue; --",
    "",
    "  spaces  ",
]
OUTCOMES = ["answered", "no_answer", "busy", "voicemail", "callback_requested", None]
QUEUE_TYPES = ["unsigned_users", "outstanding_requests", "callback"]
STATUSES = ["pending", "pending", "assigned", "completed", "cancelled"]
INT_MAX, INT_MIN, BIGINT_MAX = 2**31 - 1, -(2**31), 2**63 - 1


def create_legacy_schema(engine: Engine) -> dict[str, Table]:
    """The reference legacy schema plus the extra columns, on MariaDB or SQLite."""
    specs = {
        "agents": AGENT_COLUMNS,
        "user_call_scores": legacy_ddl.REFERENCE_LEGACY_COLUMNS["user_call_scores"] + EXTRA_COLUMNS["user_call_scores"],
        "call_queue": legacy_ddl.REFERENCE_LEGACY_COLUMNS["call_queue"] + EXTRA_COLUMNS["call_queue"],
        "call_sessions": SESSION_COLUMNS,
    }
    metadata = MetaData()
    tables = {
        name: Table(
            name,
            metadata,
            *(Column(n, sa_type(t), primary_key=n == "id", nullable=nl) for n, t, nl, _ in columns),
        )
        for name, columns in specs.items()
    }
    with write_transaction(engine) as conn:
        if is_sqlite(engine):
            metadata.create_all(conn)
        else:
            conn.exec_driver_sql(AGENTS_DDL)
            for name in ("user_call_scores", "call_queue"):
                conn.exec_driver_sql(legacy_ddl.REFERENCE_LEGACY_CREATE[name])
                extras = ", ".join(f"ADD COLUMN `{n}` {t.upper()} NULL" for n, t, _, _ in EXTRA_COLUMNS[name])
                conn.exec_driver_sql(f"ALTER TABLE `{name}` {extras}")
            conn.exec_driver_sql(SESSIONS_DDL)
    return tables


def generate(
    engine: Engine,
    *,
    users: int,
    seed: int = 1,
    chunk: int = 5000,
    sessions_per_user: float = 5.0,
    queue_per_user: float = 1.4,
) -> dict[str, int]:
    """Fill the legacy tables; returns row counts. About 10% of queue users have no
    score row and about 10% of scored users have no queue row."""
    rng = random.Random(seed)
    tables = create_legacy_schema(engine)
    base = datetime(2024, 1, 1, 8, 0, 0)
    counts = {"agents": 12, "user_call_scores": 0, "call_queue": 0, "call_sessions": 0}
    _insert(engine, tables["agents"], _agents(base))
    scores: list[dict[str, Any]] = []
    queue: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    for n in range(users):
        user_id = BIGINT_MAX - n if n < 3 else 10_000 + n
        created = base + timedelta(seconds=rng.randint(0, 60 * 86400), milliseconds=rng.randint(0, 999))
        has_score = rng.random() > 0.1 or n < 3
        has_queue = rng.random() > 0.1
        if has_score:
            scores.append(_score_row(rng, n, user_id, created))
        if has_queue:
            queue.extend(_queue_rows(rng, n, user_id, created, queue_per_user))
        sessions.extend(_session_rows(rng, n, user_id, created, sessions_per_user))
        if len(scores) >= chunk or len(queue) >= chunk or len(sessions) >= chunk:
            counts = _flush(engine, tables, scores, queue, sessions, counts)
    return _flush(engine, tables, scores, queue, sessions, counts)


def _agents(base: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": i,
            "name": f"Agent {i} {TEXTS[i % len(TEXTS)]}",
            "email": f"agent{i}@example.com",
            "is_active": i % 5 != 0,
            "created_at": base,
        }
        for i in range(1, 13)
    ]


def _score_row(rng: random.Random, n: int, user_id: int, created: datetime) -> dict[str, Any]:
    """User ``n``'s score row; the first three sit at the INTEGER limits and zero."""
    score = [INT_MAX, INT_MIN, 0][n] if n < 3 else rng.randint(-50, 200)
    return {
        "id": f"ucs_{n:09d}",
        "user_id": user_id,
        "current_score": score,
        "total_attempts": rng.randint(0, 30),
        "last_call_outcome": rng.choice(OUTCOMES),
        "last_call_at": None if rng.random() < 0.2 else created + timedelta(days=1, milliseconds=123),
        "created_at": created,
        "updated_at": created + timedelta(hours=2, milliseconds=7),
        "referral_code": None if rng.random() < 0.5 else f"RC-{rng.randint(1, 999):03d}\t'x'",
    }


def _queue_rows(
    rng: random.Random, n: int, user_id: int, created: datetime, queue_per_user: float
) -> list[dict[str, Any]]:
    """User ``n``'s queue entries (one to three); callbacks carry a ``scheduled_for``."""
    rows: list[dict[str, Any]] = []
    entries = 1 + (rng.random() < queue_per_user - 1) + (rng.random() < 0.15)
    for k in range(entries):
        queue_type = rng.choice(QUEUE_TYPES)
        rows.append(
            {
                "id": f"cq_{n:09d}_{k}",
                "user_id": user_id,
                "queue_type": queue_type,
                "priority_score": rng.choice([0, 10, 50, 100, INT_MAX if n == 1 else 5]),
                "status": rng.choice(STATUSES),
                "assigned_to_agent_id": rng.choice([None, rng.randint(1, 12)]),
                "assigned_at": None if rng.random() < 0.5 else created + timedelta(minutes=5),
                "queue_reason": None if rng.random() < 0.2 else rng.choice(TEXTS),
                "created_at": created + timedelta(milliseconds=k),
                "updated_at": created + timedelta(milliseconds=k + 1),
                "scheduled_for": created + timedelta(days=2, milliseconds=456) if queue_type == "callback" else None,
            }
        )
    return rows


def _session_rows(
    rng: random.Random, n: int, user_id: int, created: datetime, sessions_per_user: float
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for s in range(rng.randint(0, int(sessions_per_user * 2))):
        started = created + timedelta(hours=s, milliseconds=rng.randint(0, 999))
        rows.append(
            {
                "id": f"cs_{n:09d}_{s}",
                "user_id": user_id,
                "agent_id": rng.randint(1, 12),
                "call_queue_id": None,
                "started_at": started,
                "ended_at": started + timedelta(minutes=3),
                "status": "completed",
                "outcome": rng.choice(OUTCOMES),
                "duration_seconds": rng.randint(0, 600),
            }
        )
    return rows


def _flush(
    engine: Engine,
    tables: dict[str, Table],
    scores: list[dict[str, Any]],
    queue: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
    counts: dict[str, int],
) -> dict[str, int]:
    for name, rows in (("user_call_scores", scores), ("call_queue", queue), ("call_sessions", sessions)):
        _insert(engine, tables[name], rows)
        counts[name] += len(rows)
        rows.clear()
    return counts


def _insert(engine: Engine, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        with write_transaction(engine) as conn:
            conn.execute(insert(table), rows)
