"""Entry point of ``convtrack``. Subcommand groups register themselves here."""

from __future__ import annotations

import typer
from eventsourcing.persistence import PersistenceError
from sqlalchemy.exc import OperationalError as SqlOperationalError
from typer._click.exceptions import ClickException  # typer vendors click since 0.2x

from domain.errors import ConvTrackError
from infrastructure.cli import (
    copy_commands,
    demo_command,
    history_command,
    operator_commands,
    projection_commands,
    service_commands,
    status_command,
)
from infrastructure.cli.errors import fail, fail_on
from infrastructure.cli.phase_guard import guard_phases

app = typer.Typer(
    name="convtrack",
    help="Conversion Tracker: event-sourced scores, queue and conversions, and the cutover from the legacy tables.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def root() -> None:
    """Settings come from CONVTRACK_* environment variables (see docs/operations.md)."""


demo_command.register(app)
projection_commands.register(app)
operator_commands.register(app)
service_commands.register(app)
status_command.register(app)
copy_commands.register(app)
history_command.register(app)
guard_phases(app)  # last: every subcommand checks the lifecycle's phase before it runs


def main() -> None:
    try:
        code = app(standalone_mode=False)
    except ClickException as error:  # bad usage: unknown command or option, wrong type
        fail(error.format_message().replace("\n", " "), error.exit_code or 2)
    except typer.Abort:
        fail("aborted", 130)
    except ConvTrackError as error:
        fail_on(error)
    except SqlOperationalError as error:
        fail(f"database unreachable or refused the operation: {error.orig}", 6)
    except PersistenceError as error:  # the same, raised through the event store
        fail(f"database unreachable or refused the operation: {error}", 6)
    if isinstance(code, int) and code:
        raise SystemExit(code)
