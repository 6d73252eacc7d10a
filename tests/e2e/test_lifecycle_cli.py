"""One lifecycle: every ``convtrack`` command checks the phase first and, in a phase that
does not allow it, refuses in one line naming the phase and the next step (exit 5)
before it creates or writes anything. ``status`` reads where things stand, writing
nothing. Regressions of the commands that used to write before refusing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bootstrap.bootstrapper import Bootstrapper
from bootstrap.legacy_source import LegacySource
from domain.identity import score_id
from domain.lifecycle import NEXT_STEP, Phase
from domain.user_call_score import UserCallScore
from infrastructure.database import make_engine
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.db_state import database_state, files_under
from tests.support.lifecycle import bring_to
from tests.support.processes import run_convtrack

WRITING_BEFORE_REFUSING = [
    ("rebuild",),
    ("verify",),
    ("cutover", "--yes"),
    ("rollback", "--yes"),
    ("export", "--output", "{tmp}/since.jsonl"),
    ("project", "--once"),
]


def refusal_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), stderr
    return lines[0]


def a_legacy_user(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as conn:
        user = conn.exec_driver_sql("SELECT user_id FROM user_call_scores ORDER BY user_id LIMIT 1").scalar_one()
    engine.dispose()
    return int(user)


@pytest.mark.slow
@pytest.mark.parametrize("args", WRITING_BEFORE_REFUSING, ids=lambda args: args[0])
def test_before_any_bootstrap_an_operator_command_refuses_and_creates_nothing(
    database_url: str, args: tuple[str, ...], tmp_path: Path
) -> None:
    """``rebuild`` used to swap the legacy tables out (exit 0, rows moved to
    ``<db>_ct_retired_*``); the others created the event store's tables (``project
    --once`` also ``conversions``) before they refused."""
    bring_to(database_url, Phase.NOT_BOOTSTRAPPED, users=12)
    before, files = database_state(database_url), files_under(tmp_path)
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    done = run_convtrack(database_url, *argv, CONVTRACK_REPORTS_DIR=str(tmp_path / "reports"))
    assert done.returncode == 5, done.stdout + done.stderr
    line = refusal_line(done.stderr)
    assert "phase not_bootstrapped" in line and f"next: {NEXT_STEP[Phase.NOT_BOOTSTRAPPED]}" in line
    assert database_state(database_url) == before, "no table created, dropped, moved or written"
    assert files_under(tmp_path) == files
    tables = set(database_state(database_url))
    assert not {t for t in tables if "stored_events" in t or "conversions" in t or "ct_" in t}, tables


@pytest.mark.slow
def test_a_call_recorded_before_the_bootstrap_is_refused_and_the_bootstrap_seeds_that_user(database_url: str) -> None:
    """It used to be recorded, and the bootstrap then skipped that user's seed event."""
    bring_to(database_url, Phase.NOT_BOOTSTRAPPED, users=12)
    user = a_legacy_user(database_url)
    before = database_state(database_url)
    done = run_convtrack(database_url, "call", "record", "--user-id", str(user), "--agent-id", "1", "--outcome", "x")
    assert done.returncode == 5 and "call record is not possible in phase not_bootstrapped" in done.stderr
    assert database_state(database_url) == before
    tracker = open_tracker(Settings(database_url=database_url))
    source = LegacySource(database_url)
    with source.snapshot() as conn:
        legacy_scores = source.count(conn, "user_call_scores")
    report = Bootstrapper(tracker, source).run()
    source.close()
    assert report.counts["score rows"] == legacy_scores
    first = next(iter(tracker.repository.event_store.get(score_id(user))))
    assert isinstance(first, UserCallScore.Seeded), "the user's history starts with its legacy row"


def test_status_on_a_database_that_does_not_exist_yet_says_not_bootstrapped_and_creates_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'db' / 'tracker.sqlite3'}"
    for args in (("status",), ("status", "--json"), ("assess",)):
        done = run_convtrack(url, *args, CONVTRACK_REPORTS_DIR=str(tmp_path / "reports"))
        if args[0] == "status":
            assert done.returncode == 0, done.stderr
        assert files_under(tmp_path) == set(), (args, done.stderr)
    facts = json.loads(run_convtrack(url, "status", "--json").stdout)
    assert facts["phase"] == "not_bootstrapped" and facts["next"] == NEXT_STEP[Phase.NOT_BOOTSTRAPPED]
    assert facts["head"] is None and facts["projections"] == []
    text = run_convtrack(url, "status").stdout
    assert text.startswith("phase: not_bootstrapped") and f"next: {NEXT_STEP[Phase.NOT_BOOTSTRAPPED]}" in text


def status_of(url: str) -> dict[str, object]:
    done = run_convtrack(url, "status", "--json")
    assert done.returncode == 0, done.stderr
    facts: dict[str, object] = json.loads(done.stdout)
    return facts


@pytest.mark.slow
def test_the_runbook_walk_with_status_at_each_step(database_url: str, tmp_path: Path) -> None:
    """An interrupted bootstrap (its start recorded) resumes; status follows every step."""
    bring_to(database_url, Phase.BOOTSTRAPPING, users=12)
    assert status_of(database_url)["phase"] == "bootstrapping"
    extra = {"CONVTRACK_REPORTS_DIR": str(tmp_path)}
    steps = ((["bootstrap"], "bootstrapped"), (["verify"], "bootstrapped"), (["cutover", "--yes"], "cut_over"))
    for step, phase in steps:
        done = run_convtrack(database_url, *step, **extra)
        assert done.returncode == 0, f"{step}: {done.stdout}{done.stderr}"
        facts = status_of(database_url)
        assert (facts["phase"], facts["next"]) == (phase, NEXT_STEP[Phase(phase)]), facts
    assert facts["legacy_label"] and {p["name"] for p in facts["projections"]} >= {"live"}  # type: ignore[union-attr]
    assert run_convtrack(database_url, "rollback", "--yes").returncode == 0
    text = run_convtrack(database_url, "status").stdout
    assert text.startswith("phase: rolled_back") and "  rollback at position" in text, text
    assert f"next: {NEXT_STEP[Phase.ROLLED_BACK]}" in text


def test_an_unusable_database_url_is_one_line_and_exit_2_before_the_phase_is_read() -> None:
    named = {"sample-data": "error: --url: "}  # its own option, checked while it is parsed
    for args in (("status",), ("verify",), ("sample-data", "--url", "postgresql://db/app")):
        done = run_convtrack("not a url", *args)
        assert done.returncode == 2, (args, done.stderr)
        start = named.get(args[0], "error: CONVTRACK_DATABASE_URL (--database-url): ")
        assert refusal_line(done.stderr).startswith(start), done.stderr
