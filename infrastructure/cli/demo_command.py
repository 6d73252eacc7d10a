"""``convtrack demo``: the main job on the embedded SQLite default, start to finish.

Generates a realistic legacy database, then assess -> bootstrap -> verify -> cutover,
records a few conversions and call attempts through the service layer, projects them,
rolls back, exports what was recorded, and shows the reports.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import typer
from rich.console import Console
from rich.rule import Rule

from bootstrap.assess import assess
from bootstrap.bootstrapper import Bootstrapper
from bootstrap.cutover import cutover, rollback
from bootstrap.export import export
from bootstrap.legacy_source import LegacySource
from bootstrap.reports import verify_report_data, verify_report_markdown, write_reports
from bootstrap.sample_data import generate
from bootstrap.verify import verify
from domain import commands
from infrastructure.application import ConversionTracker
from infrastructure.database import make_engine
from infrastructure.projections.rebuild import open_live_tables
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    workdir: Path = typer.Option(Path("var/demo"), help="Folder for the demo database and reports (recreated)"),
    users: int = typer.Option(2000, min=10, max=1_000_000, help="Legacy users to generate"),
) -> None:
    """The full cutover on SQLite: generate legacy data, assess, bootstrap, verify, cut over,
    record conversions, roll back, and show the reports."""
    console = Console()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    url = f"sqlite:///{workdir / 'app.sqlite3'}"
    reports = workdir / "reports"

    console.print(Rule("1. a legacy database (the app's tables, with edge cases)"))
    counts = generate(make_engine(url), users=users)
    console.print(", ".join(f"{name}: {count:,}" for name, count in counts.items()))
    source = LegacySource(url)
    tracker = open_tracker(Settings(database_url=url))
    _assess_and_bootstrap(console, tracker, source)
    json_path, md_path = _verify(console, tracker, source, reports)

    console.print(Rule("5. cutover: one atomic rename"))
    done = cutover(tracker, source)
    console.print(f"live tables are the tracker's; legacy kept as {done.legacy_label}")
    _record_work(console, tracker)
    _roll_back(console, tracker, url, reports)

    console.print(Rule("8. reports"))
    console.print(md_path.read_text(encoding="utf-8"))
    console.print(f"reports: {json_path}, {md_path}")


def _assess_and_bootstrap(console: Console, tracker: ConversionTracker, source: LegacySource) -> None:
    console.print(Rule("2. assess (read-only)"))
    assessment = assess(source)
    for warning in assessment.warnings:
        console.print(f"note: {warning}")
    console.print(f"estimated bootstrap time: {assessment.estimated_seconds} s")

    console.print(Rule("3. bootstrap: one seed event per legacy row, then the staging tables"))
    bootstrapper = Bootstrapper(tracker, source)
    report = bootstrapper.run()
    console.print({k: v for k, v in report.counts.items()})


def _verify(console: Console, tracker: ConversionTracker, source: LegacySource, reports: Path) -> tuple[Path, Path]:
    console.print(Rule("4. verify: every legacy row, value for value"))
    checked = verify(tracker, source)
    paths = write_reports(reports, "verify", verify_report_data(checked), verify_report_markdown(checked))
    for check in checked.checks:
        console.print(f"{'PASS' if check.ok else 'FAIL'} {check.name}: {check.detail}")
    if not checked.ok:
        raise typer.Exit(8)
    return paths


def _record_work(console: Console, tracker: ConversionTracker) -> None:
    console.print(Rule("6. the agents' services record work through the service layer"))
    runner = ProjectionRunner(tracker, open_live_tables(tracker))
    users_with_scores = [10_005, 10_006, 10_007]
    for user_id in users_with_scores:
        tracker.execute(commands.RecordCallAttempt(user_id=user_id, agent_id=3, outcome="answered"))
    signed = commands.RecordConversion(
        user_id=users_with_scores[0],
        conversion_type="signed",
        primary_agent_id=3,
        signature_obtained=True,
        claim_value="1250.00",
        estimated_commission="187.50",
        documents_received=["passport", "bank statement"],
    )
    first = tracker.execute(signed, idempotency_key="demo-1")
    again = tracker.execute(signed, idempotency_key="demo-1")  # a retry after a lost response: replayed, nothing new
    tracker.execute(
        commands.RecordConversion(
            user_id=users_with_scores[1],
            conversion_type="documents_received",
            claim_value="980.10",
            conversion_reason="signed at the door — “finally”",
        )
    )
    runner.run_once()
    console.print(
        f"conversion {first.ids['conversion_id']} recorded at position {first.position}; "
        f"retry with the same key replayed={again.replayed}; projection lag {runner.lag()}"
    )


def _roll_back(console: Console, tracker: ConversionTracker, url: str, reports: Path) -> None:
    console.print(Rule("7. rollback: the legacy tables come back with everything recorded since cutover"))
    back = rollback(tracker, url)
    console.print(
        f"rows written back: {back.written}; rows nothing touched as at the snapshot: {back.legacy_checksums_equal}; "
        f"tracker tables kept as {back.rolled_back_label}"
    )
    exported = export(tracker, reports / "conversions.jsonl")
    console.print(f"{exported} conversion events exported to {reports / 'conversions.jsonl'}")
