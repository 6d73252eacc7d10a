"""One CLI subcommand per command, derived from its dataclass: an option per field (an
argument for the record it acts on), ``--idempotency-key`` and ``--json``; the same
validation and messages as the HTTP API, because both build the same command."""

from __future__ import annotations

import inspect
import json
from typing import Any

import typer

from domain.commands import REQUIRED, Command, FieldSpec, Kind
from domain.errors import InvalidValue
from domain.values import JSON_MAX_DEPTH, parse_moment
from infrastructure.application import CommandResult
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker

CLI_TYPES: dict[Kind, type] = {Kind.USER_ID: int, Kind.INT: int, Kind.FLAG: bool}
HELP_SUFFIX: dict[Kind, str] = {Kind.JSON: " (JSON)", Kind.MOMENT: " (ISO-8601)"}


def _json_value(name: str, value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        raise InvalidValue(name, f"not valid JSON ({error.msg})") from None
    except RecursionError:  # the domain refuses far less nesting (check_json)
        raise InvalidValue(name, f"must be nested at most {JSON_MAX_DEPTH} levels deep") from None


PARSERS = {Kind.MOMENT: parse_moment, Kind.JSON: _json_value}  # parse_moment: the HTTP API's parser


def _parameter(name: str, field_spec: FieldSpec, default: Any) -> inspect.Parameter:
    required = default is REQUIRED
    help_text = field_spec.help + HELP_SUFFIX.get(field_spec.kind, "")
    if field_spec.argument:
        param: Any = typer.Argument(..., help=help_text)
    else:
        flags = ("--" + name.replace("_", "-"), *field_spec.aliases)
        param = typer.Option(... if required else default, *flags, help=help_text)
    annotation = CLI_TYPES.get(field_spec.kind, str)
    if not required and default is None:
        annotation = annotation | None  # type: ignore[assignment]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=param, annotation=annotation)


def cli_parameters(command_type: type[Command]) -> list[inspect.Parameter]:
    """The command's fields as typer parameters, then ``--idempotency-key`` and ``--json``."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [_parameter(name, spec, default) for name, spec, default in command_type.specs()]
    key = typer.Option(None, "--idempotency-key", help="Repeat-safe key: a retry returns the first result")
    parameters.append(inspect.Parameter("idempotency_key", keyword, default=key, annotation=str | None))
    as_json = typer.Option(False, "--json", help="Print the result as JSON")
    parameters.append(inspect.Parameter("as_json", keyword, default=as_json, annotation=bool))
    return parameters


def show(result: CommandResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), sort_keys=True))
        return
    ids = " ".join(f"{k}={shown(v)}" for k, v in result.ids.items() if v)
    typer.echo(f"{result.command}{' (replayed)' if result.replayed else ''}: {ids} position={result.position}")


def shown(value: str | list[str]) -> str:
    """An id, or a list of ids as JSON (an id may hold a comma or a space)."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def add_command(group: typer.Typer, name: str, command_type: type[Command]) -> None:
    """``convtrack <group> <name> …`` runs ``command_type`` through the service layer."""
    kinds = {field_name: spec.kind for field_name, spec, _ in command_type.specs()}

    def run(*, idempotency_key: str | None, as_json: bool, **values: Any) -> None:
        for field_name, value in values.items():
            if value is not None and (parse := PARSERS.get(kinds[field_name])):
                values[field_name] = parse(field_name, value)
        command = command_type(**values)
        show(open_tracker(Settings()).execute(command, idempotency_key=idempotency_key), as_json)

    run.__signature__ = inspect.Signature(cli_parameters(command_type))  # type: ignore[attr-defined]
    group.command(name, help=command_type.__doc__)(run)
