"""The agents' commands for an operator, and ``serve``: each subcommand is derived from
its command dataclass (``command_options.py``), so the options, the validation and the
messages are the HTTP API's, with ``--json`` output."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

import typer

from domain import commands
from infrastructure.api.api_keys import ApiKeys
from infrastructure.cli.command_options import add_command
from infrastructure.cli.log_options import LOG_FORMAT, LOG_LEVEL, logging_settings
from infrastructure.json_values import utc_milliseconds
from infrastructure.observability.logs import LogFormat, LogLevel, log_startup, without_password
from infrastructure.observability.metrics import MULTIPROC_DIR, multiprocess_metrics
from infrastructure.settings import Settings
from infrastructure.wiring import open_recorder

conversion = typer.Typer(help="Record or reverse conversions.", no_args_is_help=True)
call = typer.Typer(help="Record call attempts.", no_args_is_help=True)
queue = typer.Typer(help="Work the queue: enqueue, assign, complete, cancel, callbacks.", no_args_is_help=True)
score = typer.Typer(help="Scores: reset.", no_args_is_help=True)
api_key = typer.Typer(help="API keys for calling services.", no_args_is_help=True)

COMMAND_LINES: tuple[tuple[typer.Typer, str, type[commands.Command]], ...] = (
    (conversion, "record", commands.RecordConversion),
    (conversion, "reverse", commands.ReverseConversion),
    (call, "record", commands.RecordCallAttempt),
    (queue, "enqueue", commands.Enqueue),
    (queue, "assign", commands.Assign),
    (queue, "complete", commands.Complete),
    (queue, "cancel", commands.Cancel),
    (queue, "callback", commands.ScheduleCallback),
    (queue, "clear-callback", commands.ClearCallback),
    (score, "reset", commands.ResetScore),
)
for group, name, command_type in COMMAND_LINES:
    add_command(group, name, command_type)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(conversion, name="conversion")
    app.add_typer(call, name="call")
    app.add_typer(queue, name="queue")
    app.add_typer(score, name="score")
    app.add_typer(api_key, name="api-key")


@api_key.command("create")
def api_key_create(name: str = typer.Argument(..., help="The calling service, e.g. web-app")) -> None:
    """Create a key for a calling service (or again for a revoked name); it is shown once,
    only its digest is stored."""
    key = ApiKeys(open_recorder(Settings()).engine).create(name)
    typer.echo(key)


@api_key.command("rotate")
def api_key_rotate(
    name: str = typer.Argument(...),
    grace_seconds: int = typer.Option(0, "--grace-seconds", help="How long the old key keeps working (0: not at all)"),
) -> None:
    """Issue a new key for a service; the old one is revoked after the grace period. The new
    key is printed alone on stdout (shown once)."""
    key, until = ApiKeys(open_recorder(Settings()).engine).rotate(name, grace_seconds)
    typer.echo(key)
    typer.echo(f"old key of {name} {'works until ' + utc_milliseconds(until) if until else 'revoked'}", err=True)


@api_key.command("revoke")
def api_key_revoke(name: str = typer.Argument(...)) -> None:
    """Revoke a service's key."""
    ApiKeys(open_recorder(Settings()).engine).revoke(name)
    typer.echo(f"revoked {name}")


@api_key.command("list")
def api_key_list() -> None:
    """List key names (never the keys)."""
    for name, revoked, until in ApiKeys(open_recorder(Settings()).engine).states():
        rotating = f" (old key works until {utc_milliseconds(until)})" if until else ""
        typer.echo(f"{name}{' (revoked)' if revoked else rotating}")


def serve(
    host: str | None = typer.Option(None),
    port: int | None = typer.Option(None, min=1, max=65535),
    workers: int | None = typer.Option(None, min=1, max=64),
    log_level: LogLevel | None = LOG_LEVEL,
    log_format: LogFormat | None = LOG_FORMAT,
) -> None:
    """Run the HTTP API (OpenAPI at /docs, Prometheus metrics at /metrics) and the projection follower."""
    import uvicorn

    from infrastructure.api.workers import APP, refuse_busy_port, reuse_port_supported, run_workers

    settings = logging_settings(log_level, log_format)
    host, port, workers = host or settings.api_host, port or settings.api_port, workers or settings.api_workers
    os.environ["CONVTRACK_LOG_LEVEL"] = settings.log_level.value  # the workers' settings
    os.environ["CONVTRACK_LOG_FORMAT"] = settings.log_format.value
    quiet = "debug" if settings.log_level is LogLevel.DEBUG else "warning"  # uvicorn's own lines
    own_process = workers > 1 and reuse_port_supported()
    follower = "own process" if own_process else "in each worker" if settings.embedded_follower else "none"
    announce = partial(_announce, settings, host, port, workers, follower)
    if own_process:
        with multiprocess_metrics():
            code = run_workers(host, port, workers, quiet, settings.poll_interval_seconds, announce)
        raise typer.Exit(code)
    refuse_busy_port(host, port)
    with multiprocess_metrics() if workers > 1 else _in_process_metrics():
        announce()
        uvicorn.run(
            APP, factory=True, host=host, port=port, workers=workers, log_level=quiet, access_log=False, log_config=None
        )


@contextmanager
def _in_process_metrics() -> Iterator[None]:
    """One process: its metrics are read where they are kept (no multiprocess files)."""
    os.environ.pop(MULTIPROC_DIR, None)
    yield


def _announce(settings: Settings, host: str, port: int, workers: int, follower: str) -> None:
    log_startup(
        "serve",
        f"listening on {host}:{port}",
        database=without_password(settings.database_url),
        workers=workers,
        follower=follower,
        metrics="needs an API key" if settings.metrics_require_key else "open",
        log_level=settings.log_level.value,
    )
