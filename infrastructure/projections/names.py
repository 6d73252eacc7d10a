"""The names the projections spell in SQL: the tables the guide's schema defines and the
projections that maintain them. One place, so no module types them again."""

from __future__ import annotations

USER_CALL_SCORES = "user_call_scores"
CALL_QUEUE = "call_queue"
CALL_SESSIONS = "call_sessions"
AGENTS = "agents"
CONVERSIONS = "conversions"

PROJECTED_TABLES = (USER_CALL_SCORES, CALL_QUEUE, CONVERSIONS)  # in creation order (foreign keys)

OUTWARD_KEYS = "ct_outward_keys"  # in a kept copy: the foreign keys it no longer has (copies.py)

LIVE = "live"  # the projection that maintains the live tables
REBUILD = "rebuild"  # the projection a rebuild replays into fresh tables
WRITEBACK = "legacy-writeback"  # a rollback writing what was recorded since cutover into the kept legacy tables
