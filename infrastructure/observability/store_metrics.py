"""The store's facts as metrics, read at each scrape (a few indexed reads): every
projection's position, lag in events and in seconds, the store's head, the follower lease
and a stuck projection. Nothing is kept between scrapes, so a scrape of any API worker,
or of ``convtrack project``'s port, shows the database as it is now."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eventsourcing.persistence import PersistenceError
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError

from domain.lifecycle import Phase
from infrastructure.observability.logs import tracker_version
from infrastructure.projections import tracking
from infrastructure.projections.event_source import EventSource, sql_recorder_of
from infrastructure.projections.store_reader import StoreReader

log = logging.getLogger("convtrack.metrics")


@dataclass
class StoreFacts:
    head: int = 0
    positions: dict[str, int] = field(default_factory=dict)
    lag_seconds: dict[str, float] = field(default_factory=dict)
    leases: dict[str, tuple[str, float]] = field(default_factory=dict)  # name: (holder, seconds left)
    stuck: dict[str, int] = field(default_factory=dict)  # name: the position it cannot apply


def read_facts(events: EventSource) -> StoreFacts:
    recorder = sql_recorder_of(events)
    now = datetime.now(UTC).replace(tzinfo=None)
    facts = StoreFacts(head=recorder.max_notification_id() or 0)
    with recorder.engine.connect() as conn:
        if not inspect(conn).has_table(tracking.tracking_table.name):  # nothing projected yet
            return facts
        rows = conn.execute(select(tracking.tracking_table.c.name, tracking.tracking_table.c.position))
        facts.positions = {str(name): int(position) for name, position in rows}
        for name, holder, expires in conn.execute(select(tracking.lease_table)):
            facts.leases[str(name)] = (str(holder), (expires - now).total_seconds())
        for name in facts.positions:
            if (failure := tracking.read_failure(conn, name)) is not None:
                facts.stuck[name] = failure[0]
    reader = StoreReader(recorder, events.mapper)
    for name, position in facts.positions.items():
        facts.lag_seconds[name] = _waited(reader, position, facts.head, now) if position < facts.head else 0.0
    return facts


def _waited(reader: StoreReader, position: int, head: int, now: datetime) -> float:
    """How long the first event the projection has not applied has been waiting."""
    rows = reader.rows(position, head, 1)
    if not rows:
        return 0.0
    stamp: datetime = reader.event(rows[0]).timestamp
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return max(0.0, (now - stamp).total_seconds())


class StoreCollector:
    """A prometheus-client collector; ``phase`` reads the lifecycle's phase (the API
    passes its cached one)."""

    def __init__(self, events: EventSource, phase: Callable[[], Phase] | None = None) -> None:
        self.events = events
        self.phase = phase

    def collect(self) -> Iterator[Metric]:
        info = InfoMetricFamily("convtrack_build", "The tracker's version")
        info.add_metric([], {"version": tracker_version()})
        yield info
        up = GaugeMetricFamily("convtrack_store_up", "1 when the event store answered this scrape's reads")
        try:
            facts = read_facts(self.events)
            phase = self.phase() if self.phase is not None else None
        except (SQLAlchemyError, PersistenceError) as error:
            log.warning("metrics: the store did not answer: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from facts_as_metrics(facts, phase)


def facts_as_metrics(facts: StoreFacts, phase: Phase | None) -> Iterator[Metric]:
    labels = ["projection"]
    head = GaugeMetricFamily("convtrack_store_head_position", "Position of the last event recorded in the store")
    head.add_metric([], facts.head)
    position = GaugeMetricFamily("convtrack_projection_position", "Last event position applied", labels=labels)
    lag = GaugeMetricFamily("convtrack_projection_lag_events", "Events recorded but not yet applied", labels=labels)
    seconds = GaugeMetricFamily(
        "convtrack_projection_lag_seconds", "How long the first event not yet applied has waited", labels=labels
    )
    stuck = GaugeMetricFamily(
        "convtrack_projection_stuck", "1 while the projection stands before an event it failed to apply", labels=labels
    )
    for name, at in sorted(facts.positions.items()):
        position.add_metric([name], at)
        lag.add_metric([name], max(0, facts.head - at))
        seconds.add_metric([name], facts.lag_seconds.get(name, 0.0))
        stuck.add_metric([name], 1 if name in facts.stuck else 0)
    yield from (head, position, lag, seconds, stuck)
    holder = GaugeMetricFamily(
        "convtrack_projection_lease_holder",
        "1 for the follower holding the projection's lease",
        labels=[*labels, "holder"],
    )
    left = GaugeMetricFamily(
        "convtrack_projection_lease_seconds_left",
        "Seconds until the lease expires unless renewed (negative: its holder stopped renewing)",
        labels=labels,
    )
    for name, (who, seconds_left) in sorted(facts.leases.items()):
        holder.add_metric([name, who], 1)
        left.add_metric([name], seconds_left)
    yield from (holder, left)
    if phase is not None:
        phases = GaugeMetricFamily("convtrack_lifecycle_phase", "1 for the lifecycle's current phase", labels=["phase"])
        for each in Phase:
            phases.add_metric([str(each)], 1 if each is phase else 0)
        yield phases
