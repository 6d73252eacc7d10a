"""One handler per command: load the aggregates, call their methods, say which ids the
command touched. Handlers decide; ``ConversionTracker.execute`` saves, retries and
answers retried idempotency keys. No SQL and no HTTP here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from eventsourcing.domain import Aggregate

from domain import commands as c
from domain.call_queue_entry import CallQueueEntry
from domain.conversion import Conversion
from domain.errors import AlreadyExists
from domain.identity import new_row_id
from domain.user_call_score import UserCallScore
from domain.values import ScoringRule, utc_now

CONVERTED = "converted"

Ids = dict[str, str | list[str]]  # completed_entries is a list: an entry id may hold any character
Outcome = tuple[list[Aggregate], Ids]
C = TypeVar("C", bound=c.Command)


class Loader(Protocol):
    """What a handler may read: the aggregates, loaded within the command's attempt."""

    scoring_rule: ScoringRule

    def score_or_register(self, user_id: int) -> UserCallScore: ...
    def existing_score(self, user_id: int) -> UserCallScore: ...
    def entry(self, entry_id: str) -> CallQueueEntry: ...
    def conversion(self, conversion_id: str) -> Conversion: ...
    def entry_exists(self, entry_id: str) -> bool: ...
    def conversion_exists(self, conversion_id: str) -> bool: ...
    def require_agent(self, agent_id: int) -> None: ...


def record_call_attempt(load: Loader, cmd: c.RecordCallAttempt) -> Outcome:
    load.require_agent(cmd.agent_id)
    score = load.score_or_register(cmd.user_id)
    score.record_call_attempt(
        agent_id=cmd.agent_id, outcome=cmd.outcome, called_at=cmd.called_at or utc_now(), rule=load.scoring_rule
    )
    return [score], {"user_id": str(cmd.user_id), "score_id": score.row_id}


def adjust_score(load: Loader, cmd: c.AdjustScore) -> Outcome:
    score = load.existing_score(cmd.user_id)
    score.adjust_score(cmd.delta, cmd.reason)
    return [score], {"user_id": str(cmd.user_id)}


def reset_score(load: Loader, cmd: c.ResetScore) -> Outcome:
    score = load.existing_score(cmd.user_id)
    score.reset_score(cmd.reason)
    return [score], {"user_id": str(cmd.user_id)}


def enqueue(load: Loader, cmd: c.Enqueue, row_id: str) -> Outcome:
    if load.entry_exists(row_id):
        raise AlreadyExists(f"queue entry {row_id} already exists")
    entry = CallQueueEntry.enqueue(
        row_id=row_id,
        user_id=cmd.user_id,
        queue_type=cmd.queue_type,
        priority_score=cmd.priority_score,
        reason=cmd.reason,
    )
    score = load.score_or_register(cmd.user_id)
    score.link_queue_entry(row_id, cmd.queue_type)
    return [entry, score], {"entry_id": row_id, "user_id": str(cmd.user_id)}


def assign(load: Loader, cmd: c.Assign) -> Outcome:
    load.require_agent(cmd.agent_id)
    entry = load.entry(cmd.entry_id)
    entry.assign(cmd.agent_id)
    return [entry], {"entry_id": cmd.entry_id}


def schedule_callback(load: Loader, cmd: c.ScheduleCallback, callback_id: str) -> Outcome:
    entry = load.entry(cmd.entry_id)
    entry.schedule_callback(callback_id=callback_id, scheduled_for=cmd.scheduled_for, reason=cmd.reason)
    return [entry], {"entry_id": cmd.entry_id, "callback_id": callback_id}


def clear_callback(load: Loader, cmd: c.ClearCallback) -> Outcome:
    entry = load.entry(cmd.entry_id)
    entry.clear_callback(cmd.reason)
    return [entry], {"entry_id": cmd.entry_id}


def complete(load: Loader, cmd: c.Complete) -> Outcome:
    entry = load.entry(cmd.entry_id)
    entry.complete(cmd.reason)
    return [entry], {"entry_id": cmd.entry_id}


def cancel(load: Loader, cmd: c.Cancel) -> Outcome:
    entry = load.entry(cmd.entry_id)
    entry.cancel(cmd.reason)
    return [entry], {"entry_id": cmd.entry_id}


def record_conversion(load: Loader, cmd: c.RecordConversion, row_id: str) -> Outcome:
    """One atomic save of three things: the conversion, the user's score deactivated and
    the user's open queue entries completed with reason ``converted``."""
    if load.conversion_exists(row_id):
        raise AlreadyExists(f"conversion {row_id} already exists")
    if cmd.primary_agent_id is not None:
        load.require_agent(cmd.primary_agent_id)
    score = load.score_or_register(cmd.user_id)
    fields = cmd.arguments()
    del fields["conversion_id"]
    conversion = Conversion.record(row_id=row_id, score=score, **fields, now=utc_now())
    score.deactivate_for_conversion(row_id)
    open_entries = [entry for entry in map(load.entry, score.queue_entry_ids) if entry.is_open]
    for entry in open_entries:
        entry.complete(CONVERTED)
    ids = {
        "conversion_id": row_id,
        "user_id": str(cmd.user_id),
        "completed_entries": [e.row_id for e in open_entries],
    }
    return [conversion, score, *open_entries], ids


def reverse_conversion(load: Loader, cmd: c.ReverseConversion) -> Outcome:
    """Reverses a conversion and reactivates the user, atomically. The queue entries
    completed by the conversion stay completed: enqueue the user again if needed."""
    conversion = load.conversion(cmd.conversion_id)
    conversion.reverse(cmd.reason)
    score = load.existing_score(conversion.user_id)
    score.reactivate(cmd.conversion_id, cmd.reason)
    return [conversion, score], {"conversion_id": cmd.conversion_id, "user_id": str(conversion.user_id)}


Handler = Callable[[Loader], Outcome]


def handler_for(cmd: c.Command) -> Handler:
    """The command's handler with its generated ids fixed once, so every retry of the
    command writes the same row ids."""
    match cmd:
        case c.Enqueue():
            row_id = cmd.entry_id or new_row_id()
            return lambda load: enqueue(load, cmd, row_id)
        case c.ScheduleCallback():
            callback_id = cmd.callback_id or new_row_id()
            return lambda load: schedule_callback(load, cmd, callback_id)
        case c.RecordConversion():
            conversion_id = cmd.conversion_id or new_row_id()
            return lambda load: record_conversion(load, cmd, conversion_id)
    handle: Callable[[Loader, Any], Outcome] = HANDLERS[type(cmd)]
    return lambda load: handle(load, cmd)


HANDLERS: dict[type[c.Command], Callable[[Loader, Any], Outcome]] = {
    c.RecordCallAttempt: record_call_attempt,
    c.AdjustScore: adjust_score,
    c.ResetScore: reset_score,
    c.Assign: assign,
    c.ClearCallback: clear_callback,
    c.Complete: complete,
    c.Cancel: cancel,
    c.ReverseConversion: reverse_conversion,
}
