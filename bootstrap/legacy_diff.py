"""What the legacy app did to its tables after a rollback: every legacy row now against the
legacy shape (``legacy_shape.LegacyShape.row``) of the tracker's row with the same id.

The tracker's rows are a projection of every event (the staging tables, or for a preview
the tracker's tables the rollback retired), so a row the legacy app never touched is equal
to its legacy shape: the rollback wrote that shape back. A legacy row with no tracker row
was added, a tracker row with no legacy row was deleted, and a row whose legacy columns
differ was changed (``columns`` names them). One leniency: an entry with no callback may
have lost its legacy schedule time (the rollback writes none for it, and the tracker keeps
the column as seeded), so an empty schedule column there is no difference. The bootstrap after a rollback turns each
difference into events (``resync``) and verify, in such a cycle, proves none is left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Table, select

from bootstrap.legacy_shape import CALLBACK_ID, LegacyShape, legacy_shape
from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from bootstrap.verify_sql import rows_by_id
from infrastructure.projections.names import CALL_QUEUE
from infrastructure.projections.writer import BatchFold

Kind = Literal["changed", "added", "deleted"]
KINDS: tuple[Kind, ...] = ("changed", "added", "deleted")


@dataclass(frozen=True)
class RowDifference:
    """``legacy``: the legacy row now (None when deleted); ``tracker``: the tracker's row
    (None when added); ``columns``: the legacy columns that differ (when changed)."""

    table: str
    kind: Kind
    row_id: str
    legacy: dict[str, Any] | None
    tracker: dict[str, Any] | None
    columns: tuple[str, ...] = ()

    @property
    def user_id(self) -> int:
        row = self.legacy if self.kind == "added" else self.tracker
        assert row is not None
        return int(row["user_id"])


def shape_of(source: LegacySource) -> LegacyShape:
    return legacy_shape((t, [c.name for c in source.table(t).columns]) for t in MIGRATED_TABLES)


def same(a: Any, b: Any) -> bool:
    """Equal as verify compares: the value and its Python type (Decimal, datetime, str)."""
    return bool(a == b) and type(a) is type(b)


def differences(
    source: LegacySource,
    legacy: Connection,
    ours: Connection,
    tables: Mapping[str, Table],
    *,
    batch_size: int = 2000,
    pending: Mapping[str, BatchFold] | None = None,
) -> Iterator[RowDifference]:
    """Every difference, table by table (``tables``: the tracker's, per legacy table name;
    ``pending``: row changes of events the tables do not hold yet, read as if written)."""
    shape = shape_of(source)
    for logical in MIGRATED_TABLES:
        overlay = _Overlay((pending or {}).get(logical))
        yield from _changed_or_added(source, legacy, ours, tables[logical], logical, shape, batch_size, overlay)
        yield from _deleted(source, legacy, ours, tables[logical], logical, batch_size, overlay)


class _Overlay:
    """The tracker's rows with the pending changes applied (``writer.BatchFold``)."""

    def __init__(self, fold: BatchFold | None) -> None:
        self.rows = fold.rows if fold is not None else {}

    def apply(self, found: dict[Any, dict[str, Any]], ids: list[Any]) -> dict[Any, dict[str, Any]]:
        for row_id in ids:
            change = self.rows.get(str(row_id))
            if change is None:
                continue
            if change.kind == "delete":
                found.pop(row_id, None)
            elif change.kind == "insert":
                found[row_id] = dict(change.values)
            elif row_id in found:
                found[row_id] = {**found[row_id], **change.values}
        return found

    def inserted(self) -> list[dict[str, Any]]:
        return [dict(c.values) for c in self.rows.values() if c.kind == "insert"]


def _changed_or_added(
    source: LegacySource,
    legacy: Connection,
    ours: Connection,
    table: Table,
    logical: str,
    shape: LegacyShape,
    batch_size: int,
    overlay: _Overlay,
) -> Iterator[RowDifference]:
    for batch in source.batches(legacy, logical, key=("id",), size=batch_size):
        ids = [r["id"] for r in batch]
        mine = overlay.apply(rows_by_id(ours, table, ids), ids)
        for row in batch:
            found = mine.get(row["id"])
            if found is None:
                yield RowDifference(logical, "added", str(row["id"]), row, None)
                continue
            view = shape.row(logical, found)
            lenient = shape.schedule_column if logical == CALL_QUEUE and found.get(CALLBACK_ID) is None else None
            columns = tuple(c for c, v in row.items() if not same(v, view.get(c)) and not (c == lenient and v is None))
            if columns:
                yield RowDifference(logical, "changed", str(row["id"]), row, found, columns)


def _deleted(
    source: LegacySource,
    legacy: Connection,
    ours: Connection,
    table: Table,
    logical: str,
    batch_size: int,
    overlay: _Overlay,
) -> Iterator[RowDifference]:
    last: Any = None
    seen: set[str] = set()
    while True:
        query = select(table).order_by(table.c.id).limit(batch_size)
        if last is not None:
            query = query.where(table.c.id > last)
        batch = [dict(r._mapping) for r in ours.execute(query)]
        if not batch:
            break
        last = batch[-1]["id"]
        seen.update(str(r["id"]) for r in batch)
        ids = [r["id"] for r in batch]
        yield from _missing(source, legacy, logical, list(overlay.apply({r["id"]: r for r in batch}, ids).values()))
    yield from _missing(source, legacy, logical, [r for r in overlay.inserted() if str(r["id"]) not in seen])


def _missing(
    source: LegacySource, legacy: Connection, logical: str, rows: list[dict[str, Any]]
) -> Iterator[RowDifference]:
    there = rows_by_id(legacy, source.table(logical), [r["id"] for r in rows]) if rows else {}
    for row in rows:
        if row["id"] not in there:
            yield RowDifference(logical, "deleted", str(row["id"]), None, row)


def tally(found: Iterator[RowDifference] | list[RowDifference]) -> dict[str, int]:
    """``{"<table> rows <kind>": n}`` for every table and kind (zeros included)."""
    counted = Counter((d.table, d.kind) for d in found)
    return {f"{t} rows {k} in the legacy app": counted[(t, k)] for t in MIGRATED_TABLES for k in KINDS}
