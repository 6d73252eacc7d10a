"""``convtrack assess``: read-only. The guide's pre-migration checks and more."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from bootstrap import preflight
from bootstrap.legacy_source import LegacySource, exact
from bootstrap.seeders import choose_seeder
from domain.values import INT_MAX, INT_MIN, EntryStatus, QueueType

KNOWN_QUEUE_TYPES = QueueType.ALL | {QueueType.LEGACY_CALLBACK}
KNOWN_STATUSES = {EntryStatus.PENDING, EntryStatus.ASSIGNED, EntryStatus.COMPLETED, EntryStatus.CANCELLED}
# bootstrap + staging projection + verify, migrated legacy rows per second at 1M users (docs/benchmarks.md)
SERVER_PATH_ROWS_PER_SECOND = 32_000
PYTHON_PATH_ROWS_PER_SECOND = 4_600


@dataclass
class Assessment:
    counts: dict[str, int] = field(default_factory=dict)
    queue_by_type_and_status: list[dict[str, Any]] = field(default_factory=list)
    callback_entries: int = 0
    users_with_several_pending: int = 0
    queue_rows_without_score_row: int = 0
    score_rows_without_queue_row: int = 0
    sessions_of_unknown_users: int = 0
    unknown_queue_types: dict[str, int] = field(default_factory=dict)
    unknown_statuses: dict[str, int] = field(default_factory=dict)
    scores_at_integer_limits: int = 0
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)  # what would stop the bootstrap (preflight)
    estimated_seconds: float = 0.0
    estimate_basis: str = ""


def assess(source: LegacySource) -> Assessment:
    """What the legacy tables hold, what the migration does with it, and what would stop
    the bootstrap (``blockers``: the bootstrap refuses until each is fixed)."""
    source.require_tables()
    result = Assessment()
    found = preflight.blockers(source, preflight.target_of(source.url, source))
    result.blockers = [b.message for b in found]
    with source.snapshot() as conn:
        for name in ("agents", "user_call_scores", "call_queue", "call_sessions"):
            if source.has_table(name):
                result.counts[name] = source.count(conn, name)
        if not any(b.check == preflight.MISSING_COLUMN for b in found):  # the findings read those columns
            _queue_vocabulary(result, source, conn)
            _users_on_one_side(result, source, conn)
            result.scores_at_integer_limits = _scores_at_integer_limits(source, conn)
    result.extra_columns = _extra_columns(source)
    _warn(result)
    _estimate(result, source)
    return result


def _queue_vocabulary(result: Assessment, source: LegacySource, conn: Connection) -> None:
    """Queue rows by type and status (as bytes), callbacks, unknown values, users with several pending."""
    queue = source.table("call_queue")
    queue_type, status = exact(source, queue.c.queue_type), exact(source, queue.c.status)
    grouped = conn.execute(
        select(queue_type, status, func.count()).group_by(queue_type, status).order_by(queue_type, status)
    ).all()
    rows = [(_text(t), _text(s), n) for t, s, n in grouped]
    result.queue_by_type_and_status = [{"queue_type": t, "status": s, "count": n} for t, s, n in rows]
    result.callback_entries = sum(n for t, _s, n in rows if t == QueueType.LEGACY_CALLBACK)
    result.unknown_queue_types = _tally((t, n) for t, _s, n in rows if t not in KNOWN_QUEUE_TYPES)
    result.unknown_statuses = _tally((s, n) for _t, s, n in rows if s not in KNOWN_STATUSES)
    several = (
        select(queue.c.user_id)
        .where(queue.c.status == EntryStatus.PENDING)
        .group_by(queue.c.user_id)
        .having(func.count() > 1)
        .subquery()
    )
    result.users_with_several_pending = _count(conn, select(func.count()).select_from(several))


def _users_on_one_side(result: Assessment, source: LegacySource, conn: Connection) -> None:
    """Queue rows without a score row, score rows without a queue row, sessions of neither."""
    scores, queue = source.table("user_call_scores"), source.table("call_queue")
    result.queue_rows_without_score_row = _count(
        conn, select(func.count()).select_from(queue).where(~queue.c.user_id.in_(select(scores.c.user_id)))
    )
    result.score_rows_without_queue_row = _count(
        conn, select(func.count()).select_from(scores).where(~scores.c.user_id.in_(select(queue.c.user_id)))
    )
    if source.has_table("call_sessions"):
        sessions = source.table("call_sessions")
        unknown = (
            ~sessions.c.user_id.in_(select(scores.c.user_id)),
            ~sessions.c.user_id.in_(select(queue.c.user_id)),
        )
        result.sessions_of_unknown_users = _count(conn, select(func.count()).select_from(sessions).where(*unknown))


def _scores_at_integer_limits(source: LegacySource, conn: Connection) -> int:
    scores = source.table("user_call_scores")
    limits = scores.c.current_score.in_([INT_MAX, INT_MIN])
    return _count(conn, select(func.count()).select_from(scores).where(limits))


def _extra_columns(source: LegacySource) -> dict[str, list[str]]:
    """Legacy columns the reference schema does not list, per table (they travel too)."""
    found: dict[str, list[str]] = {}
    for name, known in preflight.REFERENCE.items():
        extra = [c["name"] for c in source.columns(name) if c["name"] not in known]
        if extra:
            found[name] = extra
    return found


def _estimate(result: Assessment, source: LegacySource) -> None:
    """How long bootstrap + staging projection + verify take, on the path the bootstrap
    would choose with the tracker in the legacy database."""
    migrated = result.counts.get("user_call_scores", 0) + result.counts.get("call_queue", 0)
    choice = choose_seeder(source.engine, source)
    if choice.in_server:
        rate = SERVER_PATH_ROWS_PER_SECOND
        result.estimate_basis = "the server path (tracker in this database); the Python path takes about 7x as long"
    else:
        rate, result.estimate_basis = PYTHON_PATH_ROWS_PER_SECOND, f"the Python path ({choice.reason})"
    result.estimated_seconds = round(migrated / rate, 1)


def _count(conn: Connection, query: Any) -> int:
    return int(conn.execute(query).scalar() or 0)


def _text(value: Any) -> Any:
    return value.decode("utf-8") if isinstance(value, bytes | bytearray) else value


def _tally(pairs: Any) -> dict[str, int]:
    tally: dict[str, int] = {}
    for key, n in pairs:
        tally[str(key)] = tally.get(str(key), 0) + int(n)
    return tally


def _warn(result: Assessment) -> None:
    if result.callback_entries:
        result.warnings.append(
            f"{result.callback_entries} callback entries become outstanding_requests carrying "
            "their callback (the guide's SQL would lose the callback)"
        )
    if result.users_with_several_pending:
        result.warnings.append(
            f"{result.users_with_several_pending} users have several pending entries: "
            "current_queue_type = highest priority, then oldest, then id"
        )
    if result.unknown_queue_types:
        result.warnings.append(f"unknown queue types are carried unchanged: {result.unknown_queue_types}")
    if result.unknown_statuses:
        result.warnings.append(f"unknown statuses are carried unchanged (treated as open): {result.unknown_statuses}")
    if result.scores_at_integer_limits:
        result.warnings.append(
            f"{result.scores_at_integer_limits} scores sit at the INTEGER limits; new score changes saturate there"
        )
    if result.queue_rows_without_score_row:
        result.warnings.append(
            f"{result.queue_rows_without_score_row} queue rows belong to users with no score row: "
            "migrated as they are; no score row is invented"
        )
    if result.sessions_of_unknown_users:
        result.warnings.append(
            f"{result.sessions_of_unknown_users} call sessions belong to users with neither a "
            "score nor a queue row: left in call_sessions, not folded"
        )
