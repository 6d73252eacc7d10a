"""The agents' commands for an operator, and ``serve``: the same service methods, the
same validation and messages as the HTTP API, with ``--json`` output."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer

from infrastructure.api.api_keys import ApiKeys
from infrastructure.application import CommandResult
from infrastructure.cli.errors import fail
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker

conversion = typer.Typer(help="Record or reverse conversions.", no_args_is_help=True)
call = typer.Typer(help="Record call attempts.", no_args_is_help=True)
queue = typer.Typer(help="Work the queue: enqueue, assign, complete, cancel, callbacks.", no_args_is_help=True)
score = typer.Typer(help="Scores: reset.", no_args_is_help=True)
api_key = typer.Typer(help="API keys for calling services.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print the result as JSON")
KEY = typer.Option(None, "--idempotency-key", help="Repeat-safe key: a retry returns the first result")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(conversion, name="conversion")
    app.add_typer(call, name="call")
    app.add_typer(queue, name="queue")
    app.add_typer(score, name="score")
    app.add_typer(api_key, name="api-key")


def _moment(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        fail(f"{name}: not an ISO-8601 date and time: {value!r:.40}", 2)


def _json_value(name: str, value: str | None) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as error:
        fail(f"{name}: not valid JSON ({error.msg})", 2)


def _show(result: CommandResult, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.to_dict(), sort_keys=True))
        return
    ids = " ".join(f"{k}={v}" for k, v in result.ids.items() if v)
    typer.echo(f"{result.command}{' (replayed)' if result.replayed else ''}: {ids} position={result.position}")


@conversion.command("record")
def conversion_record(
    user_id: int = typer.Option(...),
    conversion_type: str = typer.Option(...),
    reason: str | None = typer.Option(None),
    primary_agent_id: int | None = typer.Option(None),
    documents_received: str | None = typer.Option(None, help="JSON"),
    signature_obtained: bool = typer.Option(False),
    requirements_met: str | None = typer.Option(None, help="JSON"),
    claim_value: str | None = typer.Option(None, help="Exact decimal, e.g. 1250.00"),
    estimated_commission: str | None = typer.Option(None, help="Exact decimal"),
    converted_at: str | None = typer.Option(None, help="ISO-8601; default now"),
    conversion_id: str | None = typer.Option(None),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Record a conversion (deactivates the score, completes open entries, atomically)."""
    result = open_tracker(Settings()).record_conversion(
        user_id=user_id,
        conversion_type=conversion_type,
        conversion_reason=reason,
        primary_agent_id=primary_agent_id,
        documents_received=_json_value("documents_received", documents_received),
        signature_obtained=signature_obtained,
        requirements_met=_json_value("requirements_met", requirements_met),
        claim_value=claim_value,
        estimated_commission=estimated_commission,
        converted_at=_moment("converted_at", converted_at),
        conversion_id=conversion_id,
        idempotency_key=idempotency_key,
    )
    _show(result, as_json)


@conversion.command("reverse")
def conversion_reverse(
    conversion_id: str = typer.Argument(...),
    reason: str = typer.Option(...),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Reverse a conversion; the user becomes active again."""
    _show(
        open_tracker(Settings()).reverse_conversion(
            conversion_id=conversion_id, reason=reason, idempotency_key=idempotency_key
        ),
        as_json,
    )


@call.command("record")
def call_record(
    user_id: int = typer.Option(...),
    agent_id: int = typer.Option(...),
    outcome: str = typer.Option(...),
    called_at: str | None = typer.Option(None, help="ISO-8601; default now"),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Record a call attempt (updates the score)."""
    _show(
        open_tracker(Settings()).record_call_attempt(
            user_id=user_id,
            agent_id=agent_id,
            outcome=outcome,
            called_at=_moment("called_at", called_at),
            idempotency_key=idempotency_key,
        ),
        as_json,
    )


@queue.command("enqueue")
def queue_enqueue(
    user_id: int = typer.Option(...),
    queue_type: str = typer.Option(...),
    priority_score: int = typer.Option(0),
    reason: str | None = typer.Option(None),
    entry_id: str | None = typer.Option(None),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Put a user in a queue (unsigned_users or outstanding_requests)."""
    _show(
        open_tracker(Settings()).enqueue(
            user_id=user_id,
            queue_type=queue_type,
            priority_score=priority_score,
            reason=reason,
            entry_id=entry_id,
            idempotency_key=idempotency_key,
        ),
        as_json,
    )


@queue.command("assign")
def queue_assign(
    entry_id: str = typer.Argument(...),
    agent_id: int = typer.Option(...),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Assign an open entry to an agent."""
    _show(
        open_tracker(Settings()).assign(entry_id=entry_id, agent_id=agent_id, idempotency_key=idempotency_key),
        as_json,
    )


@queue.command("complete")
def queue_complete(
    entry_id: str = typer.Argument(...),
    reason: str | None = typer.Option(None),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Complete an open entry."""
    _show(
        open_tracker(Settings()).complete(entry_id=entry_id, reason=reason, idempotency_key=idempotency_key),
        as_json,
    )


@queue.command("cancel")
def queue_cancel(
    entry_id: str = typer.Argument(...),
    reason: str | None = typer.Option(None),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Cancel an open entry."""
    _show(
        open_tracker(Settings()).cancel(entry_id=entry_id, reason=reason, idempotency_key=idempotency_key),
        as_json,
    )


@queue.command("callback")
def queue_callback(
    entry_id: str = typer.Argument(...),
    scheduled_for: str = typer.Option(..., help="ISO-8601"),
    reason: str | None = typer.Option(None),
    callback_id: str | None = typer.Option(None),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Schedule (or move) a callback on an open entry."""
    moment = _moment("scheduled_for", scheduled_for)
    assert moment is not None
    _show(
        open_tracker(Settings()).schedule_callback(
            entry_id=entry_id,
            scheduled_for=moment,
            reason=reason,
            callback_id=callback_id,
            idempotency_key=idempotency_key,
        ),
        as_json,
    )


@queue.command("clear-callback")
def queue_clear_callback(
    entry_id: str = typer.Argument(...),
    reason: str | None = typer.Option(None),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Clear an entry's callback."""
    _show(
        open_tracker(Settings()).clear_callback(entry_id=entry_id, reason=reason, idempotency_key=idempotency_key),
        as_json,
    )


@score.command("reset")
def score_reset(
    user_id: int = typer.Option(...),
    reason: str | None = typer.Option(None),
    idempotency_key: str | None = KEY,
    as_json: bool = JSON,
) -> None:
    """Reset a user's score to zero."""
    _show(
        open_tracker(Settings()).reset_score(user_id=user_id, reason=reason, idempotency_key=idempotency_key),
        as_json,
    )


@api_key.command("create")
def api_key_create(name: str = typer.Argument(..., help="The calling service, e.g. web-app")) -> None:
    """Create a key for a calling service; it is shown once, only its digest is stored."""
    key = ApiKeys(open_tracker(Settings()).sql_recorder.engine).create(name)
    typer.echo(key)


@api_key.command("revoke")
def api_key_revoke(name: str = typer.Argument(...)) -> None:
    """Revoke a service's key."""
    ApiKeys(open_tracker(Settings()).sql_recorder.engine).revoke(name)
    typer.echo(f"revoked {name}")


@api_key.command("list")
def api_key_list() -> None:
    """List key names (never the keys)."""
    for name, revoked in ApiKeys(open_tracker(Settings()).sql_recorder.engine).names():
        typer.echo(f"{name}{' (revoked)' if revoked else ''}")


def serve(
    host: str | None = typer.Option(None),
    port: int | None = typer.Option(None, min=1, max=65535),
    workers: int | None = typer.Option(None, min=1, max=64),
) -> None:
    """Run the HTTP API (OpenAPI at /docs) with an embedded projection follower per worker (one applies: lease)."""
    import uvicorn

    from infrastructure.api.workers import APP, reuse_port_supported, run_workers

    settings = Settings()
    host, port, workers = host or settings.api_host, port or settings.api_port, workers or settings.api_workers
    if workers > 1 and reuse_port_supported():
        raise typer.Exit(run_workers(host, port, workers, poll_interval=settings.poll_interval_seconds))
    uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, log_level="warning", access_log=False)
