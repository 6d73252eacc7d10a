"""The runbook's table of what each phase allows is ``domain.lifecycle.ALLOWED``."""

from __future__ import annotations

from pathlib import Path

from domain.lifecycle import ALLOWED, Phase

RUNBOOK = Path(__file__).resolve().parents[2] / "docs" / "runbook.md"
BEGIN, END = "<!-- allowed-by-phase: begin -->", "<!-- allowed-by-phase: end -->"
AGENTS_ROW = "agents' commands (`conversion`, `call`, `queue`, `score`)"


def allowed_table() -> str:
    rows = [
        "| command | " + " | ".join(phase.value for phase in Phase) + " |",
        "| --- |" + " --- |" * len(Phase),
    ]
    for key, phases in ALLOWED.items():
        name = AGENTS_ROW if key == "command" else f"`{key}`"
        rows.append(f"| {name} | " + " | ".join("yes" if phase in phases else "–" for phase in Phase) + " |")
    return "\n".join(rows)


def test_the_runbook_table_of_what_each_phase_allows_is_the_lifecycle_rule() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert documented == allowed_table(), "regenerate the table from domain.lifecycle.ALLOWED:\n" + allowed_table()
