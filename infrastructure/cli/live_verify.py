"""``convtrack verify --live``: the live tables against the events, after cutover.

Every row written outside the tracker (a Prisma or SQL client's INSERT, UPDATE or DELETE
on the live tables) is listed with the columns that differ; the report has the sign-off
shape (``bootstrap/reports.py``) as ``verify-live-<stamp>.json`` and ``.md``; exit 8 when
any row differs, 0 when none."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from bootstrap.reports import SignOff, markdown_table, write_signoff
from infrastructure.cli.errors import fail
from infrastructure.cli.progress import progress_bar
from infrastructure.projections.foreign_writes import ForeignWrites, RowDifference
from infrastructure.projections.live_check import check_live
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker

SHOWN = 20
FOREIGN_WRITES_EXIT = 8


def verify_live(settings: Settings, reports_dir: Path | None, console: Console, err: Console) -> None:
    tracker = open_tracker(settings)
    signoff = SignOff.begin("verify-live", settings.database_url, settings.effective_legacy_url)
    with progress_bar("projecting the events afresh", console=err) as update:
        found = check_live(tracker, progress=lambda pos, head: update(pos, head))
    signoff.compared = {table: {"rows": rows} for table, rows in found.compared.items()}
    signoff.details.update(report_data(found))
    signoff.finish("passed" if not found.total else "foreign writes found", ok=not found.total)
    title = f"# Verify --live report: {'PASSED' if not found.total else 'FOREIGN WRITES FOUND'}"
    json_path, md_path = write_signoff(reports_dir or settings.reports_dir, signoff, title, report_body(found))
    for row in found.rows[:SHOWN]:
        console.print(f"[red]differs[/] {escape(describe(row))}", soft_wrap=True)
    console.print(f"reports: {json_path} and {md_path}")
    if found.total:
        fail(
            f"{found.total} live rows differ from the events at position {found.position} "
            f"({_per_table(found)}): written outside the tracker (see {md_path})",
            FOREIGN_WRITES_EXIT,
        )
    console.print(
        f"[green]verify --live passed[/]: the live tables are what the events say (position {found.position})"
    )


def describe(row: RowDifference) -> str:
    if row.kind == "changed":
        values = ", ".join(f"{c}: live {row.live.get(c)} != events {row.events.get(c)}" for c in row.columns)
        return f"{row.table} id={row.id} {values}"
    return f"{row.table} id={row.id} {row.kind}"


def _per_table(found: ForeignWrites) -> str:
    return ", ".join(f"{table} {count}" for table, count in found.counts.items() if count)


def report_data(found: ForeignWrites) -> dict[str, object]:
    return {
        "ok": not found.total,
        "position": found.position,
        "differing_rows": found.total,
        "differing_by_table": found.counts,
        "differences": [vars(row) for row in found.rows],
    }


def report_body(found: ForeignWrites) -> str:
    lines = [
        f"Compared at event position {found.position}: the live tables against the events replayed afresh.",
        "",
        f"## Rows that differ: {found.total}",
        "",
    ]
    if found.rows:
        rows = [[r.table, r.id, r.kind, ", ".join(r.columns), _values(r.live), _values(r.events)] for r in found.rows]
        headers = ["table", "id", "difference", "columns", "live value", "what the events say"]
        lines.append(markdown_table(headers, rows))
        lines += ["", "Record each change as a command (see docs/runbook.md), then `convtrack rebuild`."]
    return "\n".join(lines) + "\n"


def _values(values: dict[str, str]) -> str:
    return "; ".join(f"{column}={value}" for column, value in values.items())
