"""``convtrack drop-copy``: drop one kept, retired or rolled-back copy, named by its label.

The label is checked before any SQL (only labels the tool makes; exit 2), and nothing is
dropped without ``--yes``. The kept legacy copy is refused while the tracker is cut over
(rollback brings the legacy tables back from it), as is an interrupted command's copy.
``convtrack status`` lists the copies."""

from __future__ import annotations

import typer

from infrastructure.projections.copies import drop_copy
from infrastructure.projections.labels import Kind, checked_label
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker


def register(app: typer.Typer) -> None:
    app.command("drop-copy")(drop_copy_command)


def drop_copy_command(
    label: str = typer.Argument(..., help="The copy's label as `convtrack status` lists it, e.g. ct_retired_…"),
    yes: bool = typer.Option(False, "--yes", help="Really drop it"),
) -> None:
    """Drop a copy of tables: a rebuild's (ct_retired_*), a rollback's (ct_rolledback_*) or,
    once no rollback can need it, the kept legacy tables (ct_legacy_*)."""
    checked_label(label, frozenset(Kind))  # before anything else: only names the tool makes (exit 2)
    if not yes:
        typer.echo(f"would drop the copy {label}; add --yes to drop it")
        return
    tracker = open_tracker(Settings())
    try:
        dropped = drop_copy(tracker.sql_recorder.engine, tracker.bootstrap_run(), label)
    finally:
        tracker.sql_recorder.close()
    tables = ", ".join(f"{name} ({rows:,} rows)" for name, rows in sorted(dropped.rows.items())) or "no tables"
    typer.echo(f"dropped {label} ({dropped.kind}): {tables}")
