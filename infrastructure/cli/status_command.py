"""``convtrack status``: the phase, since when, the kept and retired labels, the
projections' positions and lag, the copies kept (label, kind, tables and row counts) and
the next command. Writes nothing."""

from __future__ import annotations

import json
from typing import Any

import typer

from infrastructure.settings import Settings
from infrastructure.status import read_status


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of text")) -> None:
    """Where the cutover stands and what to run next (read only: creates and writes nothing)."""
    facts = read_status(Settings()).to_dict()
    if as_json:
        typer.echo(json.dumps(facts, sort_keys=True))
        return
    for line in status_lines(facts):
        typer.echo(line)


def status_lines(facts: dict[str, Any]) -> list[str]:
    since = f" since {facts['entered_at']}" if facts["entered_at"] else ""
    lines = [f"phase: {facts['phase']}{since} ({facts['meaning']})"]
    if facts["bootstrap_time"]:
        counts = ", ".join(f"{name} {count:,}" for name, count in sorted(facts["counts"].items()))
        lines.append(f"bootstrap: snapshot at {facts['bootstrap_time']}" + (f"; seeded {counts}" if counts else ""))
    if facts["legacy_label"]:
        lines.append(f"legacy tables kept as: {facts['legacy_label']}")
    for pending in ("cutover_pending", "rollback_pending"):
        if facts[pending]:
            lines.append(f"{pending.replace('_', ' ')} (interrupted; rerun to finish): {facts[pending]}")
    for entry in facts["history"]:
        step = "cutover" if "cutover" in entry else "rollback"
        kept = "legacy tables kept as" if step == "cutover" else "tracker tables kept as"
        lines.append(f"  {step} at position {entry['position']}: {kept} {entry[step]}")
    if facts["head"] is not None:
        lines.append(f"events: head at position {facts['head']}")
    for projection in facts["projections"]:
        lines.append(f"  projection {projection['name']}: position {projection['position']}, lag {projection['lag']}")
    for copy in facts.get("copies", []):
        tables = ", ".join(f"{name} {rows:,} rows" for name, rows in sorted(copy["tables"].items())) or "no tables"
        lines.append(f"copy {copy['label']} ({copy['kind']}): {tables}")
    if facts.get("schema"):
        lines.append(f"schema: {facts['schema']}")
    lines.append(f"next: {facts['next']}")
    return lines
