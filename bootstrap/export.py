"""``convtrack export``: what the tracker recorded, from the event log, as JSON lines.

By default every conversion event since the bootstrap (``Conversion.Recorded`` and
``Conversion.Reversed``, across every cutover); with ``all_events`` every event recorded
since the (last) cutover. Values are written so another system reads them exactly:
datetimes in UTC, ISO 8601 with milliseconds and ``Z`` (``2025-05-06T07:08:09.123Z``;
the tracker's row datetimes are naive UTC), decimals as strings, ids as strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.conversion import Conversion
from domain.errors import OperationRefused
from domain.event_metadata import META_KEY
from infrastructure.application import ConversionTracker
from infrastructure.json_values import json_value

BATCH = 1000
CONVERSIONS_FILE = "conversions.jsonl"
EVENTS_FILE = "events-since-cutover.jsonl"
ENVELOPE = ("originator_id", "originator_version", "timestamp", META_KEY)


def default_path(reports_dir: Path, *, all_events: bool) -> Path:
    return reports_dir / (EVENTS_FILE if all_events else CONVERSIONS_FILE)


def export(tracker: ConversionTracker, path: Path, *, all_events: bool = False) -> int:
    """Write the events as JSON lines to ``path``; return how many."""
    run = tracker.bootstrap_run()
    if run is None or not run.completed:
        raise OperationRefused("no completed bootstrap: run `convtrack bootstrap` first")
    if all_events and run.cutover_position is None:
        raise OperationRefused("there was no cutover: nothing was recorded by the tracker's services")
    start = (run.cutover_position or 0) if all_events else 0
    topics = [] if all_events else [get_topic(Conversion.Recorded), get_topic(Conversion.Reversed)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        return _write(tracker, out, _notifications(tracker, start, topics), all_events)


def _notifications(tracker: ConversionTracker, start: int, topics: list[str]) -> Iterator[Notification]:
    position = start
    while True:
        batch = tracker.sql_recorder.select_notifications(position, BATCH, topics=topics, inclusive_of_start=False)
        if not batch:
            return
        yield from batch
        position = batch[-1].id


def _write(tracker: ConversionTracker, out: IO[str], notifications: Iterator[Notification], every: bool) -> int:
    written = 0
    for notification in notifications:
        event = tracker.mapper.to_domain_event(notification)
        record = _event_record(notification, event) if every else _conversion_record(notification, event)
        out.write(json.dumps(record, default=json_value, ensure_ascii=False) + "\n")
        written += 1
    return written


def _conversion_record(notification: Notification, event: Any) -> dict[str, Any]:
    record: dict[str, Any] = {"position": notification.id, "event": type(event).__name__}
    record["recorded_at"] = event.timestamp
    if hasattr(event, "row"):
        record["row"] = event.row
    else:
        record.update({"conversion_id": event.row_id, "reason": event.reason})
    return record


def _event_record(notification: Notification, event: Any) -> dict[str, Any]:
    aggregate, _, name = type(event).__qualname__.rpartition(".")
    fields = {k: v for k, v in vars(event).items() if k not in ENVELOPE}
    return {
        "position": notification.id,
        "aggregate": aggregate,
        "event": name,
        "originator_id": event.originator_id,
        "originator_version": event.originator_version,
        "recorded_at": event.timestamp,
        "fields": fields,
        "meta": vars(event).get(META_KEY),  # who recorded it, for which request (docs/events.md)
    }
