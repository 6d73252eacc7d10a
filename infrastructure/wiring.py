"""Builds the tracker's parts from Settings. Nothing connects at import time."""

from __future__ import annotations

from sqlalchemy import Engine

from infrastructure.agents import AgentDirectory
from infrastructure.application import ConversionTracker
from infrastructure.database import make_engine
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
