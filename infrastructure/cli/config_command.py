"""``convtrack config``: the effective configuration, each value with where it came from
(default, env, .env or option), passwords masked."""

from __future__ import annotations

import json

import typer

from infrastructure.configuration import effective, load_settings, unknown_variables


def register(app: typer.Typer) -> None:
    app.command("config")(config)


def config(
    as_json: bool = typer.Option(False, "--json", help="Print JSON: {setting: {value, source, env, option}}"),
) -> None:
    """Show every setting in force, where its value came from (default, env, .env, option)
    and its environment variable; passwords are masked."""
    rows = effective(load_settings())
    if as_json:
        typer.echo(json.dumps({row.name: row.to_dict() for row in rows}, indent=2))
        return
    widths = [max(len(getattr(row, column)) for row in rows) for column in ("env", "value")]
    typer.echo(f"{'setting'.ljust(widths[0])}  {'value'.ljust(widths[1])}  source")
    for row in rows:
        typer.echo(f"{row.env.ljust(widths[0])}  {row.value.ljust(widths[1])}  {row.source}")
    for name in unknown_variables():
        typer.echo(f"ignored: {name} is set but is no setting (a typo?)")
