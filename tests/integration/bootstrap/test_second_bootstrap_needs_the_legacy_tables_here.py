"""A bootstrap after a rollback refuses, with one clear line and nothing written, when the
legacy tables live in another database than the tracker (CONVTRACK_LEGACY_URL): there the
rollback wrote nothing back, so the agents' work would look like the legacy app's changes."""

from __future__ import annotations

from pathlib import Path

from bootstrap.bootstrapper import Bootstrapper
from bootstrap.cutover import cutover, rollback
from bootstrap.legacy_source import LegacySource
from bootstrap.sample_data import generate
from domain.lifecycle import Phase
from infrastructure.database import make_engine
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker, read_lifecycle
from tests.support.db_state import database_state
from tests.support.processes import run_convtrack


def test_a_bootstrap_after_a_rollback_refuses_legacy_tables_in_another_database(tmp_path: Path) -> None:
    legacy_url, tracker_url = f"sqlite:///{tmp_path / 'legacy.sqlite3'}", f"sqlite:///{tmp_path / 'tracker.sqlite3'}"
    engine = make_engine(legacy_url)
    generate(engine, users=12, seed=5)
    engine.dispose()
    source, tracker = LegacySource(legacy_url), open_tracker(Settings(database_url=tracker_url))
    try:
        Bootstrapper(tracker, source).run()
        cutover(tracker, source)
        rollback(tracker, legacy_url)
    finally:
        source.close()
        tracker.sql_recorder.close()
    assert read_lifecycle(Settings(database_url=tracker_url)).phase is Phase.ROLLED_BACK
    before = database_state(tracker_url), database_state(legacy_url)

    for argv in (("bootstrap",), ("bootstrap", "--dry-run")):
        refused = run_convtrack(tracker_url, *argv, CONVTRACK_LEGACY_URL=legacy_url)
        assert refused.returncode == 5 and not refused.stdout, refused
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1 and "another one (CONVTRACK_LEGACY_URL)" in lines[0], refused.stderr
    assert (database_state(tracker_url), database_state(legacy_url)) == before
