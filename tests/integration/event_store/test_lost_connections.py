"""Connections the server dropped: one that sat idle in the pool is pinged and replaced
at checkout; one in constant use (not pinged) fails one statement, is invalidated, and
the next statement runs on a fresh connection."""

from __future__ import annotations

import time
import uuid

import pytest
from eventsourcing.persistence import OperationalError, StoredEvent
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from infrastructure.database import make_engine
from infrastructure.event_store.recorder import SqlEventRecorder


def connection_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT CONNECTION_ID()").scalar_one())


def kill(url: str, victim: int) -> None:
    killer = make_engine(url)
    with killer.connect() as conn:
        conn.exec_driver_sql(f"KILL {int(victim)}")
    killer.dispose()
    time.sleep(0.2)


def test_an_idle_pooled_connection_killed_by_the_server_is_replaced_at_checkout(mariadb_url: str) -> None:
    engine = make_engine(mariadb_url, ping_after_idle=0.0)
    first = connection_id(engine)
    kill(mariadb_url, first)
    assert connection_id(engine) != first  # no error: the ping found it dead


def test_a_busy_connection_killed_by_the_server_fails_one_statement_then_the_pool_recovers(mariadb_url: str) -> None:
    recorder = SqlEventRecorder(make_engine(mariadb_url))
    recorder.create_tables()
    kill(mariadb_url, connection_id(recorder.read_engine))  # returned just now: not pinged at checkout
    with pytest.raises(sa_exc.OperationalError) as raised:
        recorder.select_events(uuid.uuid4())  # runs on the driver cursor
    assert raised.value.connection_invalidated
    assert recorder.select_events(uuid.uuid4()) == []


def test_a_killed_committer_connection_fails_its_group_and_the_next_group_commits(mariadb_url: str) -> None:
    recorder = SqlEventRecorder(make_engine(mariadb_url))
    recorder.create_tables()
    assert recorder._commit_engine is not None
    first = uuid.uuid4()
    assert list(recorder.insert_events([StoredEvent(first, 1, "test:Event", b"{}")])) == [1]
    kill(mariadb_url, connection_id(recorder._commit_engine))
    with pytest.raises(OperationalError):
        recorder.insert_events([StoredEvent(uuid.uuid4(), 1, "test:Event", b"{}")])
    assert list(recorder.insert_events([StoredEvent(first, 2, "test:Event", b"{}")])) == [2]
    assert recorder.count_events() == 2
