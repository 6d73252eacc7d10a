"""``convtrack project`` and ``convtrack rebuild``: keeping and rebuilding the tables."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

import typer
from prometheus_client import start_http_server
from rich.console import Console

from domain.lifecycle import Phase, require
from infrastructure.application import ConversionTracker
from infrastructure.cli.errors import fail
from infrastructure.cli.log_options import LOG_FORMAT, LOG_LEVEL, logging_settings
from infrastructure.cli.progress import progress_bar
from infrastructure.observability.logs import LogFormat, LogLevel, log_startup, without_password
from infrastructure.observability.metrics import scrape_registry
from infrastructure.observability.store_metrics import StoreCollector
from infrastructure.projections.following import keep_following, read_phase
from infrastructure.projections.labels import checked_label
from infrastructure.projections.names import LIVE
from infrastructure.projections.rebuild import DROPPABLE, drop_retired, open_live_tables, rebuild
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker

log = logging.getLogger("convtrack.project")
REPORT_SECONDS = 30.0  # a log line at most this often, and only when events were applied


def register(app: typer.Typer) -> None:
    app.command("project")(project)
    app.command("rebuild")(rebuild_command)
    app.command("drop-retired")(drop_retired_command)


def project(
    once: bool = typer.Option(False, "--once", help="Catch up to the head and exit"),
    batch_size: int = typer.Option(5000, min=1, max=100_000, help="Events per transaction"),
    interval: float = typer.Option(0.2, min=0.01, help="Seconds between polls when caught up"),
    metrics_port: int | None = typer.Option(
        None, min=1, max=65535, help="Serve Prometheus metrics on this port (default: CONVTRACK_METRICS_PORT)"
    ),
    log_level: LogLevel | None = LOG_LEVEL,
    log_format: LogFormat | None = LOG_FORMAT,
) -> None:
    """Apply new events to the live tables: follow the store (default) or catch up once (--once).

    Several followers may run; one holds the lease and applies, the others stand by and
    take over within seconds if it dies. An event that cannot be applied is retried with a
    backoff (logged each time), never skipped; a rollback stops the follower (exit 5)."""
    settings = logging_settings(log_level, log_format)
    console = Console(stderr=True)
    tracker = open_tracker(settings)
    runner = ProjectionRunner(tracker, open_live_tables(tracker), LIVE, batch_size=batch_size)
    port = metrics_port or settings.metrics_port
    log_startup(
        "project",
        "catching up once" if once else f"following as {runner.holder}",
        database=without_password(settings.database_url),
        holder=runner.holder,
        batch_size=batch_size,
        metrics_port=None if once else port,
    )
    if once:
        start = runner.position()
        with progress_bar("projecting", console=console) as update:
            applied = runner.run_once(progress=lambda pos, head: update(pos - start, head - start))
        console.print(f"applied {applied} events; position {runner.position()}, lag {runner.lag()}")
        return
    server = None if port is None else serve_metrics(settings.api_host, port, StoreCollector(tracker))
    try:
        follow(tracker, runner, interval, console)
    finally:
        if server is not None:
            server.shutdown()


def serve_metrics(host: str, port: int, collector: StoreCollector) -> Any:
    """``GET /metrics`` (any path, as prometheus-client serves) on ``host:port`` in a thread."""
    try:
        server, _thread = start_http_server(port, addr=host, registry=scrape_registry(collector))
    except OSError as error:
        fail(f"cannot listen on {host}:{port} for metrics: {error.strerror}", 3)
    return server


def follow(tracker: ConversionTracker, runner: ProjectionRunner, interval: float, console: Console) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    started = read_phase(tracker)
    worker = threading.Thread(target=keep_following, args=(runner, stop), kwargs={"interval": interval}, daemon=True)
    worker.start()
    chatty = console.is_terminal  # a status line every 2 s for a person; a service's log gets one per 30 s
    if chatty:
        console.print(f"following as {runner.holder}; Ctrl-C to stop")
    reported, reported_at = 0, time.monotonic()
    try:
        while worker.is_alive():
            worker.join(timeout=2.0)
            if (phase := read_phase(tracker)) != started and phase is not Phase.CUT_OVER:  # e.g. rolled back
                log.warning("phase %s: stopping", phase)
                stop.set()
                worker.join(timeout=10)
                require("project", phase)
            foreign = f"  foreign rows met {runner.stats.foreign_rows}" if runner.stats.foreign_rows else ""
            applied = runner.stats.applied
            line = f"position {runner.position()}  lag {runner.lag()}  applied here {applied}{foreign}"
            if chatty:
                console.print(line)
            if applied != reported and time.monotonic() - reported_at >= REPORT_SECONDS:
                log.info(line, extra={"applied": applied})
                reported, reported_at = applied, time.monotonic()
    except KeyboardInterrupt:
        stop.set()
        worker.join(timeout=10)
    log.info("stopped; applied %d events here", runner.stats.applied)


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
