"""``convtrack demo``: the main job on the embedded SQLite default, start to finish."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from domain.values import utc_now
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    workdir: Path = typer.Option(Path("var/demo"), help="Folder for the demo's SQLite databases (recreated)"),
) -> None:
    """Record call attempts, queue entries, a callback and conversions on a fresh SQLite store, and show what happened."""
    console = Console()
    workdir.mkdir(parents=True, exist_ok=True)
    store = workdir / "tracker.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    tracker = open_tracker(Settings(database_url=f"sqlite:///{store}"))

    steps: list[tuple[str, str]] = []
    first = tracker.enqueue(user_id=1001, queue_type="unsigned_users", priority_score=40, reason="signed up, no documents")
    steps.append(("enqueue user 1001 (unsigned_users)", str(first.ids["entry_id"])))
    second = tracker.enqueue(user_id=1002, queue_type="outstanding_requests", reason="missing ID — “passport”")
    steps.append(("enqueue user 1002 (outstanding_requests)", str(second.ids["entry_id"])))
    tracker.assign(entry_id=first.ids["entry_id"], agent_id=7)
    steps.append(("assign user 1001's entry to agent 7", "assigned"))
    for outcome in ("no_answer", "answered", "documents_promised"):
        tracker.record_call_attempt(user_id=1001, agent_id=7, outcome=outcome)
        steps.append((f"call attempt for 1001: {outcome}", f"score {tracker.get_score(1001).current_score}"))
    tracker.schedule_callback(
        entry_id=second.ids["entry_id"], scheduled_for=utc_now() + timedelta(days=1), reason="call back after 5pm"
    )
    steps.append(("schedule a callback for 1002", "tomorrow"))
    result = tracker.record_conversion(
        user_id=1001, conversion_type="signed", primary_agent_id=7, signature_obtained=True,
        claim_value="2500.00", estimated_commission="375.50", documents_received=["id", "bank_statement"],
        idempotency_key="demo-conversion-1001",
    )
    again = tracker.record_conversion(
        user_id=1001, conversion_type="signed", primary_agent_id=7, signature_obtained=True,
        claim_value="2500.00", estimated_commission="375.50", documents_received=["id", "bank_statement"],
        idempotency_key="demo-conversion-1001",
    )
    steps.append(("record conversion for 1001", f"{result.ids['conversion_id']} at position {result.position}"))
    steps.append(("retry with the same idempotency key", f"replayed={again.replayed}, same id={again.ids == result.ids}"))

    table = Table(title="What happened")
    table.add_column("step")
    table.add_column("result")
    for step, outcome in steps:
        table.add_row(step, outcome)
    console.print(table)

    score = tracker.get_score(1001)
    conversion = tracker.get_conversion(result.ids["conversion_id"])
    entry = tracker.get_entry(first.ids["entry_id"])
    console.print(
        f"user 1001: active={score.is_active} score={score.current_score} attempts={score.total_attempts}; "
        f"entry {entry.row_id}: {entry.status}; conversion final_score={conversion.row['final_score']} "
        f"claim_value={conversion.row['claim_value']} contributing_agents={conversion.row['contributing_agents']}"
    )
    console.print(f"{tracker.sql_recorder.count_events()} events stored in {store}")
