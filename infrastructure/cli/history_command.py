"""``convtrack history --user-id N [--json]``: every event that touched a user, read from
the event store (the HTTP API's ``GET /api/users/{user_id}/history``, same items)."""

from __future__ import annotations

import json

import typer

from domain.values import check_user_id
from infrastructure.history import history_page, user_history
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker_read_only


def register(app: typer.Typer) -> None:
    app.command("history")(history)


def history(
    user_id: int = typer.Option(..., "--user-id", help="The user (user_call_scores.user_id)"),
    limit: int = typer.Option(100, min=1, max=10_000, help="At most this many events"),
    offset: int = typer.Option(0, min=0, help="Skip this many events first"),
    as_json: bool = typer.Option(False, "--json", help="Print the page as JSON (the HTTP API's shape)"),
) -> None:
    """A user's history: the seed from the legacy row, call attempts, queue changes,
    callbacks, conversions and reversals, oldest first, with time, actor and request id."""
    tracker = open_tracker_read_only(Settings())
    try:
        page = history_page(user_history(tracker, check_user_id(user_id)), user_id, limit, offset)
    finally:
        tracker.sql_recorder.close()
    if as_json:
        typer.echo(json.dumps(page, ensure_ascii=False, sort_keys=True))
        return
    for item in page["items"]:
        changed = json.dumps(item["change"]["values"], ensure_ascii=False, sort_keys=True)
        typer.echo(
            f"{item['position']}\t{item['at']}\t{item['aggregate']}.{item['event']}\t{item['row_id']}\t"
            f"actor={item['actor']}\trequest={item['request_id']}\tkey={item['idempotency_key']}\t"
            f"{item['change']['kind']} {changed}"
        )
    if page["has_more"]:
        typer.echo(f"more: --offset {page['next_offset']}", err=True)
