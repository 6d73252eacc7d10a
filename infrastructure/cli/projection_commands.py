"""``convtrack project`` and ``convtrack rebuild``: keeping and rebuilding the tables."""

from __future__ import annotations

import signal
import threading

import typer
from rich.console import Console

from domain.lifecycle import Phase, require
from infrastructure.cli.progress import progress_bar
from infrastructure.projections.following import keep_following, read_phase
from infrastructure.projections.labels import checked_label
from infrastructure.projections.names import LIVE
from infrastructure.projections.rebuild import DROPPABLE, drop_retired, open_live_tables, rebuild
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker


def register(app: typer.Typer) -> None:
    app.command("project")(project)
    app.command("rebuild")(rebuild_command)
    app.command("drop-retired")(drop_retired_command)


def project(
    once: bool = typer.Option(False, "--once", help="Catch up to the head and exit"),
    batch_size: int = typer.Option(5000, min=1, max=100_000, help="Events per transaction"),
    interval: float = typer.Option(0.2, min=0.01, help="Seconds between polls when caught up"),
) -> None:
    """Apply new events to the live tables: follow the store (default) or catch up once (--once).

    Several followers may run; one holds the lease and applies, the others stand by and
    take over within seconds if it dies. An event that cannot be applied is retried with a
    backoff (logged each time), never skipped; a rollback stops the follower (exit 5)."""
    settings = Settings()
    console = Console(stderr=True)
    tracker = open_tracker(settings)
    runner = ProjectionRunner(tracker, open_live_tables(tracker), LIVE, batch_size=batch_size)
    start = runner.position()
    if once:
        with progress_bar("projecting", console=console) as update:
            applied = runner.run_once(progress=lambda pos, head: update(pos - start, head - start))
        console.print(f"applied {applied} events; position {runner.position()}, lag {runner.lag()}")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = read_phase(tracker)
    worker = threading.Thread(target=keep_following, args=(runner, stop), kwargs={"interval": interval}, daemon=True)
    worker.start()
    console.print(f"following as {runner.holder}; Ctrl-C to stop")
    try:
        while worker.is_alive():
            worker.join(timeout=2.0)
            if (phase := read_phase(tracker)) != started and phase is not Phase.CUT_OVER:  # e.g. rolled back
                stop.set()
                worker.join(timeout=10)
                require("project", phase)
            foreign = f"  foreign rows met {runner.stats.foreign_rows}" if runner.stats.foreign_rows else ""
            applied = runner.stats.applied
            console.print(f"position {runner.position()}  lag {runner.lag()}  applied here {applied}{foreign}")
    except KeyboardInterrupt:
        stop.set()
        worker.join(timeout=10)


def rebuild_command(
    batch_size: int = typer.Option(5000, min=1, max=100_000, help="Events per transaction"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Build the new tables but do not swap them in"),
    workers: int | None = typer.Option(
        None, min=1, max=16, help="Replay processes on MariaDB/MySQL (default: 2 from 100,000 events, else 1)"
    ),
    discard_foreign_writes: bool = typer.Option(
        False, "--discard-foreign-writes", help="Swap even when live rows were written outside the tracker (lost)"
    ),
) -> None:
    """Replay every event into fresh tables while the live ones keep serving, then swap them in
    with one atomic rename. The old tables are kept (retired) until `convtrack drop-retired`.
    Refused (exit 5) while a live row was written outside the tracker (`verify --live` lists them)."""
    console = Console(stderr=True)
    tracker = open_tracker(Settings())
    with progress_bar("rebuilding", console=console) as update:
        result = rebuild(
            tracker,
            progress=lambda pos, head: update(pos, head),
            batch_size=batch_size,
            swap=not dry_run,
            workers=workers,
            discard_foreign_writes=discard_foreign_writes,
        )
    if result.foreign_rows:
        console.print(
            f"discarded {result.foreign_rows} live rows written outside the tracker (--discard-foreign-writes)"
        )
    if result.retired is None:
        console.print(f"built {result.events} events into staging (not swapped: --dry-run)")
    else:
        console.print(
            f"rebuilt from {result.events} events up to position {result.position}; old tables kept "
            f"as {result.retired_label} (drop with: convtrack drop-retired {result.retired_label} --yes)"
        )


def drop_retired_command(
    label: str = typer.Argument(..., help="The kept set's label, e.g. ct_retired_20261124201500_ab12"),
    yes: bool = typer.Option(False, "--yes", help="Really drop them"),
) -> None:
    """Drop a set of tables kept by a rebuild (ct_retired_*) or a rollback (ct_rolledback_*)."""
    checked_label(label, DROPPABLE)  # before anything else: only names the tool makes (exit 2)
    if not yes:
        typer.echo(f"would drop the tables of {label}; add --yes to drop them")
        return
    drop_retired(open_tracker(Settings()), label)
    typer.echo(f"dropped {label}")
