"""The legacy shape of a projected row change: the inverse of ``seed_mapping``.

A rollback writes what the tracker recorded since cutover back into the kept legacy
tables (``legacy_writeback``). Each event's row change (the tracker's columns) becomes a
change of the legacy row:

- columns the legacy table lacks (is_active, current_queue_type, last_reset_date,
  last_queue_check, callback_id, callback_scheduled_for, callback_reason) are dropped;
  extra legacy columns the tracker does not model are left as they are;
- an entry carrying a callback has queue_type ``callback`` (the legacy app's only way to
  say it) and its time in the legacy schedule column when the table has one
  (``domain.call_queue_entry.SCHEDULE_COLUMNS``); an entry whose callback was cleared
  gets its own queue type back (the one it was created with) and no schedule;
- the callback's reason is not copied into queue_reason (which still says why the user
  was queued); the event log and ``convtrack export --all-events`` keep it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from domain.call_queue_entry import SCHEDULE_COLUMNS
from domain.rows import RowChange
from domain.values import QueueType
from infrastructure.projections.names import CALL_QUEUE

CALLBACK_ID = "callback_id"
CALLBACK_TIME = "callback_scheduled_for"


@dataclass(frozen=True)
class LegacyShape:
    """``columns``: each kept legacy table's column names."""

    columns: Mapping[str, frozenset[str]]

    @property
    def schedule_column(self) -> str | None:
        """The legacy call_queue column that holds a callback's time, if any."""
        present = self.columns.get(CALL_QUEUE, frozenset())
        return next((c for c in SCHEDULE_COLUMNS if c in present), None)

    def clears_callback(self, logical: str, change: RowChange) -> bool:
        """Whether the change needs the entry's own queue type (a callback cleared)."""
        return (
            logical == CALL_QUEUE
            and change.kind == "update"
            and CALLBACK_ID in change.values
            and change.values[CALLBACK_ID] is None
        )

    def change(self, logical: str, change: RowChange, own_queue_type: str | None = None) -> RowChange | None:
        """The legacy row's change, or None for a table the legacy side does not have.
        ``own_queue_type`` is needed when the change clears a callback."""
        present = self.columns.get(logical)
        if present is None:
            return None
        if change.kind not in {"insert", "update"}:
            return change
        values = dict(change.values)
        if logical == CALL_QUEUE and CALLBACK_ID in values:
            values.update(self._callback_columns(change, own_queue_type))
        kept = {k: v for k, v in values.items() if k in present}
        return RowChange(change.kind, change.row_id, kept)

    def row(self, logical: str, tracker_row: Mapping[str, Any]) -> dict[str, Any]:
        """A whole tracker row as the legacy table would hold it (what the next bootstrap
        compares the legacy rows with): the legacy columns, and for an entry carrying a
        callback queue_type ``callback`` and its time in the schedule column. An entry with
        no callback keeps its own values (the legacy app may keep a time there)."""
        present = self.columns[logical]
        values = {k: v for k, v in tracker_row.items() if k in present}
        if logical == CALL_QUEUE and tracker_row.get(CALLBACK_ID) is not None:
            values["queue_type"] = QueueType.LEGACY_CALLBACK
            schedule = self.schedule_column
            if schedule is not None:
                values[schedule] = tracker_row.get(CALLBACK_TIME)
        return values

    def _callback_columns(self, change: RowChange, own_queue_type: str | None) -> dict[str, Any]:
        values = change.values
        carried = values[CALLBACK_ID] is not None
        out: dict[str, Any] = {}
        if carried:
            out["queue_type"] = QueueType.LEGACY_CALLBACK
        elif change.kind == "update":
            if own_queue_type is None:
                raise ValueError(f"the own queue type of entry {change.row_id} is needed to clear its callback")
            out["queue_type"] = own_queue_type
        schedule = self.schedule_column
        if schedule is not None and schedule != CALLBACK_TIME:
            out[schedule] = values.get(CALLBACK_TIME) if carried else None
        return out


def legacy_shape(columns: Iterable[tuple[str, Iterable[str]]]) -> LegacyShape:
    return LegacyShape({logical: frozenset(names) for logical, names in columns})
