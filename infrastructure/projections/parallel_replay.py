"""Replays the store into a set of tables with several processes (MariaDB/MySQL).

A rebuild is bound by Python (reading, decoding, folding, rendering SQL) in one process
while the server has cores to spare. Every projected row belongs to exactly one aggregate,
so the aggregates can be split: process k of n reads only the events of its aggregates
(``StoreReader`` partition), in order, and projects them under its own tracking row
(``<name>.<k>of<n>``), one transaction per batch, exactly once, as any runner does. The
processes never write the same row; should InnoDB still pick one as a deadlock victim
(shared index pages), the runner retries the rolled-back batch.

When every partition has reached ``until``, every event up to ``until`` is applied, and
the caller's own tracking row is set to ``until``; the caller carries on from there alone.
If a partition fails, the others are stopped and the failure is raised: a rebuild starts
again from empty tables, so nothing partial is ever swapped in. If the rebuild itself is
killed (kill -9), each replay process notices at its next batch that its parent is gone
and exits; whatever it committed is discarded by the next rebuild.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from domain.errors import ConvTrackError
from domain.legacy_schema import LegacySchema
from infrastructure.database import is_sqlite, make_engine, write_transaction
from infrastructure.event_store.recorder import SqlEventRecorder
from infrastructure.projections import tracking
from infrastructure.projections.event_source import EventSource, MapperRecipe, StoreEvents, sql_recorder_of
from infrastructure.projections.runner import Progress, ProjectionRunner
from infrastructure.projections.tables import TableNames, create_projection_tables

PARALLEL_MIN_EVENTS = 100_000  # below this, starting processes costs more than it saves


class PartitionFailed(ConvTrackError):
    exit_code = 7
    http_status = 500


def default_workers(engine: Engine, events: int) -> int:
    if is_sqlite(engine) or events < PARALLEL_MIN_EVENTS:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def _collect(
    results: Any, processes: list[Any], engine: Engine, parts: list[str], until: int, progress: Progress | None
) -> dict[int, int]:
    """Each partition's count of applied events, as the processes report them; raises when
    one fails or dies."""
    workers = len(processes)
    applied: dict[int, int] = {}
    while len(applied) < workers:
        try:
            part, ok, payload = results.get(timeout=0.5)
        except queue.Empty:
            for k, process in enumerate(processes):
                if k not in applied and not process.is_alive() and process.exitcode != 0:
                    raise PartitionFailed(
                        f"rebuild partition {k + 1} of {workers} died (exit code {process.exitcode})"
                    ) from None
        else:
            if not ok:
                raise PartitionFailed(f"rebuild partition {part + 1} of {workers} failed: {payload}")
            applied[part] = int(payload)
        if progress is not None:
            progress(_slowest(engine, parts, applied, until), until)
    return applied


def replay_in_parallel(
    events: EventSource,
    names: TableNames,
    legacy_schema: LegacySchema | None,
    name: str,
    until: int,
    workers: int,
    *,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> int:
    """Apply every event up to ``until`` to the tables ``names`` (made with ``legacy_schema``)
    with ``workers`` processes; returns how many events they applied (each counted once)."""
    recorder = sql_recorder_of(events)
    engine = recorder.engine
    if is_sqlite(engine):
        raise ValueError("parallel replay needs MariaDB/MySQL (SQLite has one writer)")
    url = engine.url.render_as_string(hide_password=False)
    parts = [f"{name}.{k}of{workers}" for k in range(workers)]
    for part in parts:
        tracking.reset_tracking(engine, part)
    store = _Store(url, recorder.events.name, MapperRecipe.of(events.mapper))
    context = multiprocessing.get_context("spawn")
    results: Any = context.Queue()
    processes = [
        context.Process(
            target=_replay_partition,
            args=(store, names, legacy_schema, parts[k], (k, workers), until, batch_size, results),
            daemon=True,
        )
        for k in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        applied = _collect(results, processes, engine, parts, until, progress)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
    with write_transaction(engine) as conn:
        tracking.set_position(conn, name, until)
    for part in parts:
        tracking.drop_tracking(engine, part)
    return sum(applied.values())


def _slowest(engine: Engine, parts: list[str], finished: dict[int, int], until: int) -> int:
    with engine.connect() as conn:
        return min(until if k in finished else tracking.read_position(conn, part) for k, part in enumerate(parts))


@dataclass(frozen=True)
class _Store:
    """What a replay process needs to open the event store (picklable)."""

    url: str
    events_table: str
    mapper: MapperRecipe

    def open(self) -> StoreEvents:
        return StoreEvents(SqlEventRecorder(make_engine(self.url), self.events_table), self.mapper.build())


def _replay_partition(
    store: _Store,
    names: TableNames,
    legacy_schema: LegacySchema | None,
    part_name: str,
    partition: tuple[int, int],
    until: int,
    batch_size: int,
    results: Any,
) -> None:
    """One partition, in its own process. Reports (k, ok, events applied or the error)."""
    try:
        parent = os.getppid()

        def stop_if_orphaned(_position: int, _head: int) -> None:
            if os.getppid() != parent:  # the rebuild was killed: stop rather than write on for nobody
                os._exit(3)

        events = store.open()
        tables = create_projection_tables(events.recorder.engine, names, legacy_schema)
        runner = ProjectionRunner(events, tables, part_name, batch_size=batch_size, partition=partition)
        results.put((partition[0], True, runner.run_once(progress=stop_if_orphaned, until=until)))
    except BaseException as error:  # reported to the parent, which stops the others
        results.put((partition[0], False, f"{type(error).__name__}: {error}"))
