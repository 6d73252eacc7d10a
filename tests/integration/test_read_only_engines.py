"""Read-only engines (the phase check, status, assess, the legacy source) leave an SQLite
database as they found it: a missing file is not created and the journal mode is not
switched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from infrastructure.database import make_engine


def test_a_read_only_engine_does_not_create_a_missing_sqlite_file(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite3'}", read_only=True)
    with pytest.raises(OperationalError, match="unable to open database file"):
        engine.connect()
    engine.dispose()
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_engine_reads_a_legacy_file_without_switching_its_journal_mode(tmp_path: Path) -> None:
    path = tmp_path / "legacy.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.execute("INSERT INTO t VALUES ('a')")
    conn.close()
    before = path.read_bytes()
    engine = make_engine(f"sqlite:///{path}", read_only=True)
    with engine.connect() as reader:
        assert reader.exec_driver_sql("SELECT x FROM t").scalar_one() == "a"
        assert reader.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "delete"
    engine.dispose()
    assert path.read_bytes() == before
