"""Agents are the web app's reference data (``agents`` table): read, never written."""

from __future__ import annotations

import time

from sqlalchemy import Engine, inspect, text

from infrastructure.projections.names import AGENTS


class AgentDirectory:
    """Answers "does agent N exist?" from the ``agents`` table of the tracker database.

    Where no ``agents`` table exists (a tracker database separate from the app's, or a
    fresh demo), every agent id is accepted; the projection's foreign key still guards
    the live tables. Answers are cached for ``ttl`` seconds.
    """

    def __init__(self, engine: Engine, ttl: float = 30.0) -> None:
        self.engine = engine
        self.ttl = ttl
        self._known: dict[int, float] = {}
        self._has_table: bool | None = None

    def exists(self, agent_id: int) -> bool:
        if self._has_table is None:
            self._has_table = inspect(self.engine).has_table(AGENTS)
        if not self._has_table:
            return True
        seen = self._known.get(agent_id)
        if seen is not None and time.monotonic() - seen < self.ttl:
            return True
        with self.engine.connect() as conn:
            found = conn.execute(text(f"SELECT 1 FROM {AGENTS} WHERE id = :id"), {"id": agent_id}).first()
        if found:
            self._known[agent_id] = time.monotonic()
        return found is not None
