"""``convtrack rollback --yes`` killed with kill -9 right after a write-back batch is
finished by running it again, with every change since cutover in the legacy rows; then
``convtrack export`` writes every conversion (or, with --all-events, every event since
cutover) into the reports folder, datetimes in UTC milliseconds, decimals as strings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.e2e.test_cutover_killed import kill_at
from tests.support.agents_day import check_rolled_back, prepare, touched_since_cutover, work
from tests.support.processes import run_convtrack

UTC_MILLISECONDS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.mark.slow
def test_a_rollback_killed_after_a_write_back_batch_is_finished_by_a_rerun_and_export_writes_it_all(
    database_url: str, tmp_path: Path
) -> None:
    day = prepare(database_url)
    work(database_url, day)
    touched = touched_since_cutover(database_url)
    kill_at(database_url, "after-writeback-batch", "rollback", "--yes")
    again = run_convtrack(database_url, "rollback", "--yes", CONVTRACK_REPORTS_DIR=str(tmp_path))
    assert again.returncode == 0, again.stderr
    check_rolled_back(database_url, day, touched)

    exported = run_convtrack(database_url, "export", CONVTRACK_REPORTS_DIR=str(tmp_path))
    assert exported.returncode == 0, exported.stderr
    conversions = [json.loads(line) for line in (tmp_path / "conversions.jsonl").read_text().splitlines()]
    assert [c["event"] for c in conversions] == ["Recorded", "Reversed"]
    assert conversions[0]["row"]["claim_value"] == "10.50"
    assert all(UTC_MILLISECONDS.match(c["recorded_at"]) for c in conversions)
    assert UTC_MILLISECONDS.match(conversions[0]["row"]["converted_at"])

    everything = run_convtrack(database_url, "export", "--all-events", CONVTRACK_REPORTS_DIR=str(tmp_path))
    assert everything.returncode == 0, everything.stderr
    events = [json.loads(line) for line in (tmp_path / "events-since-cutover.jsonl").read_text().splitlines()]
    kinds = {(e["aggregate"], e["event"]) for e in events}
    assert {
        ("CallQueueEntry", "CallbackScheduled"),
        ("CallQueueEntry", "CallbackCleared"),
        ("Conversion", "Reversed"),
    } <= kinds
    scheduled = [e for e in events if e["event"] == "CallbackScheduled"]
    assert scheduled[0]["fields"]["scheduled_for"] == "2026-12-01T09:30:00.250Z"
    assert all(e["meta"]["actor"] and "meta" not in e["fields"] for e in events), "who recorded each event"
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)
