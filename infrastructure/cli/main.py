"""Entry point of ``convtrack``. Subcommand groups register themselves here.

The root callback takes one option per setting (``settings_options.py``), ``--version``
and shell completion. Every subcommand checks the whole configuration once its own
arguments are parsed and before anything else (even the phase check): a value that is
not allowed is one ``error:`` line naming the setting and what it allows (exit 2)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.metadata import version as installed_version
from typing import Any

import typer
from eventsourcing.persistence import PersistenceError
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError as SqlOperationalError

from domain.errors import ConvTrackError, Interrupted, StoreUnavailable
from infrastructure.cli import (
    config_command,
    copy_commands,
    db_commands,
    demo_command,
    history_command,
    operator_commands,
    projection_commands,
    service_commands,
    status_command,
)
from infrastructure.cli.errors import fail, fail_on
from infrastructure.cli.exit_codes import epilog
from infrastructure.cli.phase_guard import guard_phases, leaf_commands
from infrastructure.cli.settings_options import with_settings_options
from infrastructure.configuration import (
    apply_options,
    check_database_file,
    forget_options,
    invalid_settings,
    load_settings,
)
from infrastructure.observability.logs import configure_logging

DISTRIBUTION = "conversion-tracker"
OWN_DATABASE = frozenset({"config", "demo", "sample-data"})  # they do not open the configured database

app = typer.Typer(
    name="convtrack",
    help="Conversion Tracker: event-sourced scores, queue and conversions, and the cutover from the legacy tables.",
    epilog=epilog(),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)


def show_version(value: bool) -> None:
    if value:
        typer.echo(f"convtrack {installed_version(DISTRIBUTION)}")
        raise typer.Exit()


@app.callback()
@with_settings_options
def root(
    version: bool = typer.Option(
        False, "--version", is_eager=True, callback=show_version, help="Print the version and exit"
    ),
    **settings: str | None,
) -> None:
    """Settings come from options, CONVTRACK_* environment variables or a .env file, in that
    order (docs/configuration.md; `convtrack config` shows them)."""
    apply_options(settings)


def check_settings_first(app: typer.Typer) -> None:
    """Wrap every subcommand of ``app`` (outside its phase check) with ``settings_checked``."""
    for words, info in leaf_commands(app):
        if info.callback is not None:
            info.callback = settings_checked(words, info.callback)


def settings_checked(words: tuple[str, ...], callback: Callable[..., Any]) -> Callable[..., Any]:
    """``callback`` run only once every setting is allowed and the database file can be
    opened (after its own arguments are parsed, so ``--help`` answers whatever the settings)."""

    @functools.wraps(callback)
    def run(**params: Any) -> Any:
        loaded = load_settings()
        configure_logging(loaded.log_level, loaded.log_format)  # serve and project may override it
        if words[0] not in OWN_DATABASE:
            check_database_file(loaded)
        return callback(**params)

    return run


demo_command.register(app)
projection_commands.register(app)
operator_commands.register(app)
service_commands.register(app)
status_command.register(app)
copy_commands.register(app)
history_command.register(app)
config_command.register(app)
db_commands.register(app)
guard_phases(app)  # every subcommand checks the lifecycle's phase before it runs
check_settings_first(app)  # and, before that, the settings


def main() -> None:
    try:
        _run()
    finally:  # root options went into the environment; a caller in this process gets it back
        forget_options()


def _run() -> None:
    try:
        code = app(standalone_mode=False, prog_name="convtrack")
    except typer.TyperException as error:  # bad usage: unknown command or option, wrong type
        if not (message := error.format_message().replace("\n", " ")):  # no subcommand: the help was shown
            raise SystemExit(error.exit_code or 2) from None
        fail(message, error.exit_code or 2)
    except typer.Abort:
        fail("aborted", Interrupted.exit_code)
    except ConvTrackError as error:
        fail_on(error)
    except ValidationError as error:  # settings made in code from a value given to a command
        fail_on(invalid_settings(error))
    except SqlOperationalError as error:
        fail(f"database unreachable or refused the operation: {error.orig}", StoreUnavailable.exit_code)
    except PersistenceError as error:  # the same, raised through the event store
        fail(f"database unreachable or refused the operation: {error}", StoreUnavailable.exit_code)
    if isinstance(code, int) and code:
        raise SystemExit(code)
