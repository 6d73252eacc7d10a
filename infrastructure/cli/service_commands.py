"""The agents' commands for an operator, and ``serve``: each subcommand is derived from
its command dataclass (``command_options.py``), so the options, the validation and the
messages are the HTTP API's, with ``--json`` output."""

from __future__ import annotations

import typer

from domain import commands
from infrastructure.api.api_keys import ApiKeys
from infrastructure.cli.command_options import add_command
from infrastructure.json_values import utc_milliseconds
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
) -> None:
    """Run the HTTP API (OpenAPI at /docs) with an embedded projection follower per worker (one applies: lease)."""
    import uvicorn

    from infrastructure.api.workers import APP, reuse_port_supported, run_workers

    settings = Settings()
    host, port, workers = host or settings.api_host, port or settings.api_port, workers or settings.api_workers
    if workers > 1 and reuse_port_supported():
        raise typer.Exit(run_workers(host, port, workers, poll_interval=settings.poll_interval_seconds))
    uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, log_level="warning", access_log=False)
