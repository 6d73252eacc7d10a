"""The root options of ``convtrack``, one per setting, derived from the ``Settings`` class:
``convtrack --database-url … --api-port 9000 serve``. A value is taken as text and checked
by the settings class itself, so an option and its environment variable are refused with
the same message."""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Any

import typer

from infrastructure.configuration import allowed
from infrastructure.settings import Settings, env_name, option_name

PANEL = "Settings (each also an environment variable; see `convtrack config`)"


METAVARS = {int: "INTEGER", float: "NUMBER", bool: "BOOLEAN", Path: "PATH"}


def settings_parameters() -> list[inspect.Parameter]:
    """A keyword-only ``str | None`` parameter per setting, named after the field; a field
    with ``json_schema_extra={"hidden": True}`` (for tests only) is left out of ``--help``."""
    parameters = []
    for name, field in Settings.model_fields.items():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        kinds = [arg for arg in typing.get_args(field.annotation) if arg is not type(None)] or [field.annotation]
        option: Any = typer.Option(
            None,
            option_name(name),
            help=f"{field.description or name} [{env_name(name)}; {allowed(field)}]",
            metavar=METAVARS.get(kinds[0], "TEXT"),
            show_default=False,
            hidden=bool(extra.get("hidden")),
            rich_help_panel=PANEL,
        )
        parameters.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=str | None)
        )
    return parameters


def with_settings_options(callback: Any) -> Any:
    """``callback``'s own parameters, then one option per setting (passed as ``**settings``)."""
    own = [p for p in inspect.signature(callback).parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    callback.__signature__ = inspect.Signature([*own, *settings_parameters()])
    return callback
