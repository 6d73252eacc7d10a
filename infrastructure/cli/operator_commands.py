"""The operator's cutover commands: assess, bootstrap, verify, cutover, rollback, export,
and sample-data (a realistic legacy database for rehearsals)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from bootstrap.assess import assess
from bootstrap.bootstrapper import Bootstrapper, BootstrapPlan, plan_bootstrap
from bootstrap.cutover import Operation, RollbackResult, cutover, rollback
from bootstrap.export import default_path, export
from bootstrap.legacy_source import LegacySource
from bootstrap.preflight import RUNBOOK
from bootstrap.reports import SignOff, to_json, verify_report_body, verify_report_title, write_signoff
from bootstrap.sample_data import generate
from bootstrap.signoff import signed_verify
from domain.errors import ConvTrackError
from infrastructure.cli.confirmation import confirm, pause_point
from infrastructure.cli.errors import fail
from infrastructure.cli.live_verify import verify_live
from infrastructure.cli.option_checks import (
    database_url_option,
    output_file_option,
    reports_dir_in,
    reports_dir_option,
)
from infrastructure.cli.progress import progress_bar
from infrastructure.database import make_engine
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker, open_tracker_read_only, read_lifecycle

console = Console()
err = Console(stderr=True)


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_command)
    app.command("bootstrap")(bootstrap_command)
    app.command("verify")(verify_command)
    app.command("cutover")(cutover_command)
    app.command("rollback")(rollback_command)
    app.command("export")(export_command)
    app.command("sample-data")(sample_data_command)


def assess_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables"),
) -> None:
    """Read-only: what the legacy tables hold and what the migration will do with it."""
    source = LegacySource(Settings().effective_legacy_url)
    result = assess(source)
    if as_json:
        typer.echo(to_json(dataclasses.asdict(result)))
        return
    table = Table(title="Legacy tables")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in result.counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    queue = Table(title="call_queue by queue_type x status")
    for column in ("queue_type", "status", "count"):
        queue.add_column(column)
    for row in result.queue_by_type_and_status:
        queue.add_row(str(row["queue_type"]), str(row["status"]), f"{row['count']:,}")
    console.print(queue)
    facts = Table(title="Findings", show_header=False)
    for key in (
        "callback_entries",
        "users_with_several_pending",
        "queue_rows_without_score_row",
        "score_rows_without_queue_row",
        "sessions_of_unknown_users",
        "scores_at_integer_limits",
        "unknown_queue_types",
        "unknown_statuses",
        "extra_columns",
        "estimated_seconds",
        "estimate_basis",
    ):
        facts.add_row(key.replace("_", " "), str(getattr(result, key)))
    console.print(facts)
    for warning in result.warnings:
        console.print(f"[yellow]note:[/] {warning}")
    for blocker in result.blockers:
        console.print(f"[red]blocker:[/] {blocker}")
    if result.blockers:
        console.print(f"the bootstrap refuses until each blocker is fixed ({RUNBOOK})")


def bootstrap_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be written; write nothing"),
    batch_size: int = typer.Option(2000, min=1, max=50_000, help="Users per batch (one transaction each)"),
) -> None:
    """Turn every legacy row into one seed event (resumable after a crash), then build the staging tables.
    After a rollback: turn the rows the legacy app changed, added or deleted since into events."""
    settings = Settings()
    source = LegacySource(settings.effective_legacy_url)
    run = read_lifecycle(settings).run
    again = run is not None and (run.may_resync or run.resyncing)  # after a rollback: preview from the events
    events = open_tracker_read_only(settings) if again else None
    plan = plan_bootstrap(settings.database_url, source, run, events=events)  # refusals: nothing written
    if dry_run:
        _print_plan(plan)
        return
    bootstrapper = Bootstrapper(open_tracker(settings), source, batch_size=batch_size)
    report = bootstrapper.run(
        plan=plan, progress_bars=partial(progress_bar, console=err), checkpoint=pause_point(settings)
    )
    console.print(_counts_table("Bootstrap", report.counts))
    console.print(f"{'took up the legacy app’s writes' if plan.resync else 'seeded'} by the {report.path}")
    if report.resumed:
        console.print("resumed an interrupted bootstrap; what was already recorded was skipped")
    console.print(f"done at event position {report.position}. Next: `convtrack verify`")


def _counts_table(title: str, counts: dict[str, int]) -> Table:
    table = Table(title=title)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(key, f"{value:,}")
    return table


def _print_plan(plan: BootstrapPlan) -> None:
    console.print(_counts_table("Bootstrap (dry run: nothing written)", plan.counts))
    console.print(f"would {'record' if plan.resync else 'seed'} by the {plan.choice.describe()}")
    if plan.note:
        console.print(plan.note)
    console.print("then build the staging tables")
    if plan.resumed:
        console.print("would resume an interrupted bootstrap (rows stored are skipped)")


def verify_command(
    reports_dir: Path | None = typer.Option(
        None, help="Where to write the JSON and Markdown reports", callback=reports_dir_option
    ),
    live: bool = typer.Option(
        False, "--live", help="After cutover: compare the live tables with the events (rows written outside; exit 8)"
    ),
) -> None:
    """Reconcile every legacy row with its projected row; write reports; exit non-zero on any mismatch.
    With --live (after cutover): every live row against the events, to find writes from outside."""
    settings = Settings()
    reports_dir = reports_dir_in(reports_dir, settings)
    if live:
        verify_live(settings, reports_dir, console, err)
        return
    tracker = open_tracker(settings)
    signoff = SignOff.begin("verify", settings.database_url, settings.effective_legacy_url)
    with progress_bar("verifying", console=err, unit="rows") as update:
        report = signed_verify(tracker, LegacySource(settings.effective_legacy_url), signoff, progress=update)
    json_path, md_path = write_signoff(reports_dir, signoff, verify_report_title(report), verify_report_body(report))
    for check in report.checks:
        console.print(
            f"[{'green' if check.ok else 'red'}]{'PASS' if check.ok else 'FAIL'}[/] {check.name}: {check.detail}"
        )
    for mismatch in report.mismatches[:20]:
        console.print(
            f"[red]mismatch[/] {mismatch['table']} id={mismatch['id']} {mismatch['column']}: "
            f"legacy {mismatch['legacy']} != projected {mismatch['projected']}"
        )
    console.print(f"reports: {json_path} and {md_path}")
    if not report.ok:
        fail(
            f"verify found {report.mismatch_count} mismatching values and "
            f"{sum(not c.ok for c in report.checks)} failed checks (see {md_path})",
            8,
        )
    console.print("[green]verify passed[/]: every legacy row is in the new tables, value for value")


@contextmanager
def _signed_operation(command: str, settings: Settings, reports_dir: Path | None, yes: bool) -> Iterator[Operation]:
    """``command`` confirmed by the operator (nothing written before; the phase guard of
    ``cli/phase_guard.py`` has already checked the phase), then run with its sign-off report,
    which is written however it ends (refused, or stopped by an error: ``outcome`` then says
    ``interrupted``)."""
    directory = reports_dir_in(reports_dir, settings)
    confirm(command, settings.database_url, yes)
    signoff = SignOff.begin(command, settings.database_url, settings.effective_legacy_url)
    try:
        yield Operation(signoff, pause_point(settings))
    except ConvTrackError as error:
        signoff.finish(f"refused: {error}", ok=False)
        raise
    finally:
        headline = signoff.outcome.split(":")[0].replace(";", ",").upper()
        json_path, md_path = write_signoff(directory, signoff, f"# {command.capitalize()} report: {headline}")
        err.print(f"reports: {json_path} and {md_path}")


YES = typer.Option(False, "--yes", help="Confirm without typing the database's name (needed without a terminal)")
REPORTS_DIR = typer.Option(
    None,
    help="Where to write the JSON and Markdown reports (default: CONVTRACK_REPORTS_DIR)",
    callback=reports_dir_option,
)


def cutover_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Run every check but swap nothing; write nothing"),
    yes: bool = YES,
    reports_dir: Path | None = REPORTS_DIR,
) -> None:
    """Swap the verified tables into the live names in one atomic rename (legacy tables kept under a dated name)."""
    settings = Settings()
    source = LegacySource(settings.effective_legacy_url)
    if dry_run:
        result = cutover(open_tracker_read_only(settings), source, dry_run=True)
        done = " (the rename already happened; cutover will record it)" if result.resumed else ""
        console.print(f"dry run: checks pass; cutover would keep the legacy tables as {result.legacy_label}{done}")
        return
    with _signed_operation("cutover", settings, reports_dir, yes) as operation:
        result = cutover(open_tracker(settings), source, operation=operation)
        operation.finish("cut over", ok=True)
    console.print(
        f"cut over at event position {result.position}; legacy tables kept as {result.legacy_label}. "
        "Start followers: `convtrack project` (or `convtrack serve`)"
    )


def rollback_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Check the kept legacy tables are there; write nothing"),
    yes: bool = YES,
    reports_dir: Path | None = REPORTS_DIR,
) -> None:
    """Swap the legacy tables back atomically; the tracker's tables and event log are kept."""
    settings = Settings()
    if dry_run:
        planned = rollback(open_tracker_read_only(settings), settings.effective_legacy_url, dry_run=True)
        console.print(
            f"dry run: the kept legacy tables are there; rollback would keep the tracker's tables as "
            f"{planned.rolled_back_label}"
        )
        return
    with _signed_operation("rollback", settings, reports_dir, yes) as operation:
        result = rollback(open_tracker(settings), settings.effective_legacy_url, operation=operation)
        differ = result.legacy_checksums_equal is False
        operation.finish(
            "rolled back; the kept legacy tables differed from the snapshot" if differ else "rolled back", ok=not differ
        )
    console.print(f"rolled back at event position {result.position}; tracker tables kept as {result.rolled_back_label}")
    if differ:
        fail("the kept legacy tables' checksums differed from the bootstrap snapshot before the write-back", 9)
    console.print(_restored_line(result))


def _restored_line(result: RollbackResult) -> str:
    written = ", ".join(f"{table}: {rows}" for table, rows in result.written.items()) or "none"
    checked = (
        "the kept copy was checked in the interrupted run"
        if result.legacy_checksums_equal is None
        else "rows nothing touched are as at the bootstrap snapshot"
    )
    return (
        f"legacy tables restored with what was recorded since cutover (rows written back: {written}); {checked}. "
        "Everything recorded meanwhile: `convtrack export --all-events`"
    )


def export_command(
    output: Path | None = typer.Option(
        None,
        help="JSON-lines file to write (default: in the reports folder)",
        callback=output_file_option,
    ),
    all_events: bool = typer.Option(False, "--all-events", help="Every event since the cutover, not only conversions"),
) -> None:
    """Write every conversion since the bootstrap (or, with --all-events, every event since cutover) as JSON lines."""
    settings = Settings()
    path = output or default_path(reports_dir_in(None, settings), all_events=all_events)
    written = export(open_tracker(settings), path, all_events=all_events)
    console.print(f"wrote {written} {'events' if all_events else 'conversion events'} to {path}")


def sample_data_command(
    url: str = typer.Option(
        ..., help="Database URL to create the legacy tables in (must be empty)", callback=database_url_option
    ),
    users: int = typer.Option(1000, min=1, max=10_000_000, help="How many users"),
    seed: int = typer.Option(1, help="Random seed"),
) -> None:
    """Create and fill the legacy tables with realistic data and edge cases (for rehearsals and demos)."""
    try:
        engine = make_engine(url)
    except ValueError as error:
        fail(str(error), 2)
    from sqlalchemy import inspect

    if inspect(engine).has_table("user_call_scores"):
        fail("that database already has a user_call_scores table; give an empty one", 2)
    counts = generate(engine, users=users, seed=seed)
    console.print(", ".join(f"{name}: {count:,}" for name, count in counts.items()))
