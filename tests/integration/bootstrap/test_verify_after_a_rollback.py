"""In a cycle after a rollback, verify compares every legacy row with the legacy shape of
its staging row: nothing left after the bootstrap took the legacy app's writes up, and a
write the legacy app makes after that bootstrap is listed by table, id and column (cutover
refuses it) and taken up by running the bootstrap again."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from bootstrap.bootstrapper import Bootstrapper
from bootstrap.cutover import cutover
from bootstrap.legacy_source import LegacySource
from bootstrap.legacy_writeback import kept_tables
from bootstrap.verify import verify
from domain.errors import OperationRefused
from domain.lifecycle import Phase
from infrastructure.database import make_engine, write_transaction
from infrastructure.projections.tables import TableNames
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import bring_to


def change_a_score(url: str, score: int) -> str:
    """The legacy app sets the first score row's current_score; returns its id."""
    engine = make_engine(url)
    scores = kept_tables(engine, TableNames.live())["user_call_scores"]
    with write_transaction(engine) as conn:
        row_id = conn.execute(select(scores.c.id).order_by(scores.c.id).limit(1)).scalar_one()
        conn.execute(update(scores).where(scores.c.id == row_id).values(current_score=score))
    engine.dispose()
    return str(row_id)


def test_verify_after_a_rollback_passes_once_taken_up_and_lists_a_later_legacy_write(database_url: str) -> None:
    bring_to(database_url, Phase.ROLLED_BACK, users=12)
    change_a_score(database_url, 12345)
    tracker, source = open_tracker(Settings(database_url=database_url)), LegacySource(database_url)
    try:
        report = Bootstrapper(tracker, source).run()
        assert report.counts["user_call_scores rows changed in the legacy app"] == 1
        assert verify(tracker, source).ok
        row_id = change_a_score(database_url, 54321)
        found = verify(tracker, source)
        assert not found.ok and found.mismatch_count == 1
        assert [(m["table"], m["id"], m["column"]) for m in found.mismatches] == [
            ("user_call_scores", row_id, "current_score")
        ]
        with pytest.raises(OperationRefused, match="run `convtrack bootstrap` again to take them up"):
            cutover(tracker, source)
        again = Bootstrapper(tracker, source).run()  # in the same cycle, before its cutover: takes it up too
        assert again.counts["user_call_scores rows changed in the legacy app"] == 1
        assert verify(tracker, source).ok
    finally:
        source.close()
        tracker.sql_recorder.close()
