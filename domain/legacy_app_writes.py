"""What the aggregates' legacy-app events share: after a rollback the legacy app writes its
tables again, and the next bootstrap records each row it changed, added or deleted as an
event of the row's aggregate (``UserCallScore.ChangedInLegacyApp``, …; ``bootstrap.resync``).

Those events are defined next to their aggregate class, in its module (so they project like
the aggregate's other events), and attached to it here: their topics read
``<module>:<Aggregate>.<Event>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import Aggregate

from domain.rows import RowUpdateEvent


def attach(aggregate_class: type[Aggregate], events: Sequence[type[RowUpdateEvent]]) -> None:
    """Make each event a named member of ``aggregate_class`` (its qualified name too)."""
    for event in events:
        event.__qualname__ = f"{aggregate_class.__name__}.{event.__name__}"
        setattr(aggregate_class, event.__name__, event)


def record(
    aggregate: Aggregate, events: Sequence[type[RowUpdateEvent]], event: type[RowUpdateEvent], **fields: Any
) -> None:
    """Trigger ``event`` (one of ``events``) on ``aggregate``; ``row_id`` defaults to the
    aggregate's own row id."""
    if event not in events:
        raise ValueError(f"{event.__qualname__} is not a legacy-app event of {type(aggregate).__name__}")
    row_id = fields.pop("row_id", None) or aggregate.row_id  # type: ignore[attr-defined]
    aggregate.trigger_event(event, row_id=row_id, **fields)
