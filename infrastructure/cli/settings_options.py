"""The root options of ``convtrack``, one per setting, derived from the ``Settings`` class:
``convtrack --database-url … --api-port 9000 serve``. A value is taken as text and checked
by the settings class itself, so an option and its environment variable are refused with
the same message."""

from __future__ import annotations

import inspect
from typing import Any

import typer

from infrastructure.configuration import allowed
from infrastructure.settings import Settings, env_name, option_name

PANEL = "Settings (each also an environment variable; see `convtrack config`)"


def settings_parameters() -> list[inspect.Parameter]:
    """A keyword-only ``str | None`` parameter per setting, named after the field."""
    parameters = []
    for name, field in Settings.model_fields.items():
        option: Any = typer.Option(
            None,
            option_name(name),
            help=f"{field.description or name} [{env_name(name)}; {allowed(field)}]",
            show_default=False,
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
