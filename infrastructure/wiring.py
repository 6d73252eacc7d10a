"""Builds the tracker's parts from Settings. Nothing connects at import time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, inspect, make_url
from sqlalchemy.exc import ArgumentError

from domain.bootstrap_run import BootstrapRun
from domain.errors import InvalidValue, WrongPhase
from domain.lifecycle import NEXT_STEP, Phase, phase_of
from infrastructure.agents import AgentDirectory
from infrastructure.application import ConversionTracker
from infrastructure.database import database_name, make_engine
from infrastructure.event_store.recorder import SqlEventRecorder
from infrastructure.settings import Settings


def open_recorder(settings: Settings, engine: Engine | None = None) -> SqlEventRecorder:
    recorder = SqlEventRecorder(engine or make_engine(settings.database_url), settings.events_table)
    recorder.create_tables()
    return recorder


def tracker_on(recorder: SqlEventRecorder) -> ConversionTracker:
    """The service layer on an open recorder (unknown agents refused when the database has
    an ``agents`` table)."""
    return ConversionTracker(recorder, agents=AgentDirectory(recorder.engine))


def open_tracker(settings: Settings, engine: Engine | None = None) -> ConversionTracker:
    return tracker_on(open_recorder(settings, engine))


def open_tracker_read_only(settings: Settings) -> ConversionTracker:
    """The service layer on the existing store, over a read-only engine: it creates no table
    and cannot write (dry runs). Refuses when there is no store yet."""
    if read_lifecycle(settings).phase is Phase.NOT_BOOTSTRAPPED:
        where = database_name(settings.database_url)
        raise WrongPhase(f"nothing to inspect: no bootstrap in {where}; {NEXT_STEP[Phase.NOT_BOOTSTRAPPED]}")
    engine = make_engine(settings.database_url, read_only=True)
    return ConversionTracker(SqlEventRecorder(engine, settings.events_table), agents=AgentDirectory(engine))


@dataclass(frozen=True)
class Lifecycle:
    """Where the cutover stands: the phase, the bootstrap's record, when the phase began."""

    phase: Phase
    run: BootstrapRun | None

    @property
    def entered_at(self) -> datetime | None:
        return None if self.run is None else self.run.modified_on


def read_only_engine(settings: Settings) -> Engine | None:
    """An engine that cannot write the tracker's database, or None when it is an SQLite
    file that does not exist (opening it would create it). A URL that cannot be used is
    ``InvalidValue`` (exit 2), before anything is opened."""
    try:
        url = make_url(settings.database_url)
        in_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        if in_file and not Path(str(url.database)).exists():
            return None
        return make_engine(settings.database_url, read_only=True)
    except (ArgumentError, ValueError) as error:  # unparsable, or a scheme make_engine does not support
        raise InvalidValue("database URL", str(error)) from error


def lifecycle_on(engine: Engine, events_table: str) -> Lifecycle:
    """The phase read on ``engine``: without the event store's tables, ``not_bootstrapped``."""
    if not inspect(engine).has_table(events_table):
        return Lifecycle(Phase.NOT_BOOTSTRAPPED, None)
    recorder = SqlEventRecorder(engine, events_table)
    try:
        run = ConversionTracker(recorder).bootstrap_run()
    finally:
        if recorder.read_engine is not engine:  # MariaDB: the command path's reads engine
            recorder.read_engine.dispose()
    return Lifecycle(phase_of(run), run)


def read_lifecycle(settings: Settings) -> Lifecycle:
    """The phase, read without creating or writing anything: a database without the event
    store's tables (or an SQLite file that does not exist) is ``not_bootstrapped``."""
    engine = read_only_engine(settings)
    if engine is None:
        return Lifecycle(Phase.NOT_BOOTSTRAPPED, None)
    try:
        return lifecycle_on(engine, settings.events_table)
    finally:
        engine.dispose()
