"""Who recorded an event, for which request: metadata stored in the event itself.

The eventsourcing library (9.5) has no envelope for metadata: its ``Mapper`` stores
``vars(event)`` as the event's state and restores that dict as the decoded event's
``__dict__`` without calling ``__init__``. A key set on an event instance before it is
saved is therefore stored with it and comes back as an attribute, while the event's
dataclass fields, its equality and the aggregate it builds (a ``Created`` event passes
only its ``__init__``'s parameters) are unchanged. ``META_KEY`` names that key; events
stored before it existed simply have none. Projections never read it, so nothing in the
app's tables changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

META_KEY = "meta"


@dataclass(frozen=True)
class EventMetadata:
    """``actor``: an API key's name, an operator's ``user@host``; ``request_id``: one per
    HTTP request or CLI run (every event of one command shares it); ``idempotency_key``:
    the command's, if it had one."""

    actor: str
    request_id: str | None = None
    idempotency_key: str | None = None

    def as_state(self) -> dict[str, str]:
        """What is stored: the fields that have a value (an absent key costs no bytes)."""
        state = {"actor": self.actor}
        if self.request_id is not None:
            state["request_id"] = self.request_id
        if self.idempotency_key is not None:
            state["idempotency_key"] = self.idempotency_key
        return state

    @classmethod
    def of(cls, event: object) -> EventMetadata | None:
        """The metadata stored with ``event`` (None for an event recorded without)."""
        stored = getattr(event, META_KEY, None)
        if not isinstance(stored, dict) or not isinstance(stored.get("actor"), str):
            return None
        return cls(stored["actor"], stored.get("request_id"), stored.get("idempotency_key"))


def stamp(events: Iterable[Any], metadata: EventMetadata) -> None:
    """Attach ``metadata`` to each event not stamped yet (events are frozen dataclasses:
    set past their ``__setattr__``; one shared dict, encoded with each event)."""
    state = metadata.as_state()
    for event in events:
        if META_KEY not in vars(event):
            object.__setattr__(event, META_KEY, state)
