"""The guards around cutover and rollback, as an operator meets them on the command line,
on SQLite and MariaDB: confirmation, dry runs that write nothing and name what the real
run does, the sign-off reports, labels checked before any SQL, and a rollback that refuses
before moving anything when the kept legacy tables are gone."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from sqlalchemy import inspect, text

from domain.lifecycle import Phase
from infrastructure.database import is_sqlite, make_engine
from infrastructure.projections.tables import TableNames, quote_mysql, quote_sqlite
from infrastructure.settings import Settings
from infrastructure.wiring import read_lifecycle
from tests.support.cutover_state import bootstrap_run, everything_stored, has_tables
from tests.support.db_state import event_count
from tests.support.lifecycle import bring_to
from tests.support.mariadb_server import PASSWORD
from tests.support.processes import CONVTRACK, convtrack_env, run_convtrack

LABEL = re.compile(r"ct_(legacy|rolledback)_\d{14}_\w+")


def label_in(output: str) -> str:
    found = LABEL.search(output)
    assert found, output
    return found.group(0)


def test_dry_runs_write_nothing_and_name_the_labels_the_real_runs_use_and_reports_are_filed(
    database_url: str, tmp_path: Path
) -> None:
    bring_to(database_url, Phase.BOOTSTRAPPED)
    reports = {"CONVTRACK_REPORTS_DIR": str(tmp_path)}
    verified = run_convtrack(database_url, "verify", **reports)
    assert verified.returncode == 0, verified.stderr
    before = everything_stored(database_url)
    dry = run_convtrack(database_url, "cutover", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert everything_stored(database_url) == before, "a dry run writes no table, no event, no row"
    cut = run_convtrack(database_url, "cutover", "--yes", **reports)
    assert cut.returncode == 0, cut.stderr
    assert label_in(cut.stdout) == label_in(dry.stdout) == bootstrap_run(database_url).legacy_label

    before = everything_stored(database_url)
    dry = run_convtrack(database_url, "rollback", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert everything_stored(database_url) == before
    back = run_convtrack(database_url, "rollback", "--yes", **reports)
    assert back.returncode == 0, back.stderr
    assert label_in(back.stdout) == label_in(dry.stdout)
    assert_reports_filed(tmp_path, database_url)

    dropped = run_convtrack(database_url, "drop-retired", label_in(back.stdout), "--yes")
    assert dropped.returncode == 0, dropped.stderr
    engine = make_engine(database_url)
    assert not has_tables(engine, TableNames.sibling(engine, label_in(back.stdout)), "conversions")
    engine.dispose()


def assert_reports_filed(directory: Path, database_url: str) -> None:
    verify, cutover, rollback = (
        json.loads((directory / f"{name}-latest.json").read_text()) for name in ("verify", "cutover", "rollback")
    )
    assert (verify["outcome"], cutover["outcome"], rollback["outcome"]) == ("passed", "cut over", "rolled back")
    for report in (verify, cutover, rollback):
        assert report["ok"] is True and report["started_at"] <= report["finished_at"]
        assert report["tracker"]["database"].endswith(make_engine(database_url).url.database or "")
        assert "@" in report["operator"] and report["tool_version"]
        assert report["compared"]["call_queue"]["rows"] > 0 and report["compared"]["call_queue"]["columns"] > 5
        snapshot = report["legacy_checksums"]["snapshot"]
        assert report["legacy_checksums"]["after"] == snapshot, report["command"]
        assert report["legacy_checksums"].get("before", snapshot) == snapshot
    assert verify["mismatch_count"] == 0 and cutover["legacy_label"].startswith("ct_legacy_")
    assert rollback["rolled_back_label"].startswith("ct_rolledback_")
    for path in [*directory.glob("*.json"), *directory.glob("*.md")]:
        assert PASSWORD not in path.read_text(), path
    assert (directory / "rollback-latest.md").read_text().startswith("# Rollback report: ROLLED BACK")


def test_without_a_terminal_and_without_yes_cutover_and_rollback_refuse_and_write_nothing(database_url: str) -> None:
    bring_to(database_url, Phase.BOOTSTRAPPED)
    before = everything_stored(database_url)
    refused = run_convtrack(database_url, "cutover")
    assert refused.returncode == 5 and "--yes" in refused.stderr and refused.stderr.count("\n") == 1
    assert everything_stored(database_url) == before
    assert run_convtrack(database_url, "cutover", "--yes").returncode == 0
    before = everything_stored(database_url)
    refused = run_convtrack(database_url, "rollback")
    assert refused.returncode == 5 and "--yes" in refused.stderr
    assert everything_stored(database_url) == before


def on_a_terminal(database_url: str, typed: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``convtrack`` with its stdin on a pseudo-terminal, where ``typed`` is typed."""
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen(
            [CONVTRACK, *args], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=convtrack_env(database_url),
        )  # fmt: skip
        os.write(controller, f"{typed}\n".encode())
        out, errors = process.communicate(timeout=120)
        return subprocess.CompletedProcess(process.args, process.returncode, out, errors)
    finally:
        os.close(controller)
        os.close(terminal)


def test_on_a_terminal_only_the_database_name_confirms(database_url: str) -> None:
    bring_to(database_url, Phase.BOOTSTRAPPED)
    name = make_engine(database_url).url.database or ""
    expected = Path(name).name
    before = everything_stored(database_url)
    wrong = on_a_terminal(database_url, "yes", "cutover")
    assert wrong.returncode == 5 and "nothing done" in wrong.stderr, wrong.stderr
    assert everything_stored(database_url) == before
    right = on_a_terminal(database_url, expected, "cutover")
    assert right.returncode == 0, right.stdout + right.stderr
    assert read_lifecycle(Settings(database_url=database_url)).phase is Phase.CUT_OVER


def test_a_label_that_is_not_one_the_tool_makes_is_refused_before_any_sql(database_url: str) -> None:
    """Regression: ``drop-retired 'ct_retired_`.`x`, `otherdb`.`victim` -- ' --yes`` dropped
    ``otherdb.victim``."""
    bring_to(database_url, Phase.CUT_OVER)
    engine = make_engine(database_url)
    other = f"{engine.url.database}_ct_otherdb"  # dropped with the test's database
    victim = f"{quote_sqlite('victim')}" if is_sqlite(engine) else f"{quote_mysql(other)}.`victim`"
    with engine.begin() as conn:
        if not is_sqlite(engine):
            conn.exec_driver_sql(f"CREATE DATABASE {quote_mysql(other)}")
        conn.exec_driver_sql(f"CREATE TABLE {victim} (id INTEGER PRIMARY KEY)")
    before = everything_stored(database_url)
    for label in (f"ct_retired_`.`x`, `{other}`.`victim` -- ", 'ct_retired_x_user_call_scores"; DROP TABLE "victim'):
        refused = run_convtrack(database_url, "drop-retired", label, "--yes")
        assert refused.returncode == 2 and "not a label the tool makes" in refused.stderr, refused.stderr
    kept = run_convtrack(database_url, "drop-retired", bootstrap_run(database_url).legacy_label or "", "--yes")
    assert kept.returncode == 2, "the kept legacy tables are not dropped here"
    unknown = run_convtrack(database_url, "drop-retired", "ct_retired_20200101000000_ab12", "--yes")
    assert unknown.returncode == 3 and "no tables are kept" in unknown.stderr
    assert everything_stored(database_url) == before
    with engine.connect() as conn:
        assert conn.execute(text(f"SELECT COUNT(*) FROM {victim}")).scalar() == 0, "the victim table is still there"
    engine.dispose()


def test_rollback_refuses_before_moving_anything_when_the_kept_legacy_tables_are_gone(database_url: str) -> None:
    """Regression: with ``<db>_ct_legacy_*`` gone, rollback on MariaDB moved the tracker's
    tables away and left the app with no user_call_scores (the URL it compared had
    ``?charset=utf8mb4`` added)."""
    bring_to(database_url, Phase.CUT_OVER)
    engine = make_engine(database_url)
    kept = TableNames.sibling(engine, bootstrap_run(database_url).legacy_label or "")
    with engine.begin() as conn:
        if kept.schema:
            conn.exec_driver_sql(f"DROP DATABASE {quote_mysql(kept.schema)}")
        else:
            for logical in ("call_queue", "user_call_scores"):
                conn.exec_driver_sql(f"DROP TABLE {quote_sqlite(kept.all()[logical])}")
    events = event_count(database_url)
    for args in (["rollback", "--dry-run"], ["rollback", "--yes"]):
        refused = run_convtrack(database_url, *args)
        assert refused.returncode == 5 and "kept legacy tables are missing" in refused.stderr, refused.stderr
    live = {column["name"] for column in inspect(engine).get_columns("user_call_scores")}
    assert "current_queue_type" in live and inspect(engine).has_table("conversions"), "the tracker's tables stay live"
    assert event_count(database_url) == events
    assert read_lifecycle(Settings(database_url=database_url)).phase is Phase.CUT_OVER
    engine.dispose()
