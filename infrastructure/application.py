"""The service layer: one method per command, used by the HTTP API, the CLI, the
bootstrapper and Python callers alike. No SQL and no HTTP here.

Every command may carry an idempotency key: the first result is stored in the same
transaction as the command's events, and a repeat returns it and records nothing.
A command that loses an optimistic-concurrency race is retried on fresh state.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, JSONTranscoder

from domain.call_queue_entry import CallQueueEntry
from domain.conversion import Conversion
from domain.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    ConvTrackError,
    IdempotencyKeyReused,
    UnknownAgent,
    UnknownConversion,
    UnknownQueueEntry,
    UnknownUser,
)
from domain.identity import conversion_id, new_row_id, queue_entry_id, score_id
from domain.user_call_score import UserCallScore
from domain.values import ScoringRule, check_int, check_user_id, check_varchar, utc_now
from infrastructure.event_store.recorder import IdempotencyRecord, SqlEventRecorder
from infrastructure.event_store.transcodings import register_extra_transcodings

TRANSCODER_TOPIC = "infrastructure.event_store.orjson_transcoder:OrjsonReadingTranscoder"

MAX_ATTEMPTS = 10
CONVERTED = "converted"


class AgentChecker(Protocol):
    def exists(self, agent_id: int) -> bool: ...


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the ids it touched and the position of its last event
    (wait for a projection to reach it to read your own write)."""

    command: str
    ids: dict[str, str]
    position: int | None
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "ids": self.ids,
            "position": self.position,
            "replayed": self.replayed,
        }


Action = Callable[[], tuple[list[Aggregate], dict[str, str]]]


class ConversionTracker(Application):
    """The tracker's application service."""

    name = "ConversionTracker"

    def __init__(
        self,
        recorder: SqlEventRecorder,
        *,
        agents: AgentChecker | None = None,
        scoring_rule: ScoringRule | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self._given_recorder = recorder
        self.agents = agents
        self.scoring_rule = scoring_rule or ScoringRule()
        super().__init__(
            env={"PERSISTENCE_MODULE": "eventsourcing.popo", "TRANSCODER_TOPIC": TRANSCODER_TOPIC, **(env or {})}
        )

    def construct_recorder(self) -> ApplicationRecorder:
        return self._given_recorder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_extra_transcodings(transcoder)

    @property
    def sql_recorder(self) -> SqlEventRecorder:
        return self._given_recorder

    # ================================================================ scores

    def record_call_attempt(
        self,
        *,
        user_id: int,
        agent_id: int,
        outcome: str,
        called_at: datetime | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        def action() -> tuple[list[Aggregate], dict[str, str]]:
            self._require_agent(agent_id)
            score, new = self._score_or_register(user_id)
            score.record_call_attempt(
                agent_id=agent_id, outcome=outcome, called_at=called_at or utc_now(), rule=self.scoring_rule
            )
            return [score], {"user_id": str(user_id), "score_id": score.row_id}

        args = {"user_id": user_id, "agent_id": agent_id, "outcome": outcome, "called_at": called_at}
        return self._execute("record_call_attempt", args, idempotency_key, action)

    def adjust_score(
        self, *, user_id: int, delta: int, reason: str | None = None, idempotency_key: str | None = None
    ) -> CommandResult:
        def action() -> tuple[list[Aggregate], dict[str, str]]:
            score = self._existing_score(user_id)
            score.adjust_score(delta, reason)
            return [score], {"user_id": str(user_id)}

        args = {"user_id": user_id, "delta": delta, "reason": reason}
        return self._execute("adjust_score", args, idempotency_key, action)

    def reset_score(
        self, *, user_id: int, reason: str | None = None, idempotency_key: str | None = None
    ) -> CommandResult:
        def action() -> tuple[list[Aggregate], dict[str, str]]:
            score = self._existing_score(user_id)
            score.reset_score(reason)
            return [score], {"user_id": str(user_id)}

        return self._execute("reset_score", {"user_id": user_id, "reason": reason}, idempotency_key, action)

    # ================================================================ queue

    def enqueue(
        self,
        *,
        user_id: int,
        queue_type: str,
        priority_score: int = 0,
        reason: str | None = None,
        entry_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        row_id = entry_id or new_row_id()

        def action() -> tuple[list[Aggregate], dict[str, str]]:
            check_varchar("entry_id", row_id)
            if queue_entry_id(row_id) in self.repository:
                raise AlreadyExists(f"queue entry {row_id} already exists")
            entry = CallQueueEntry.enqueue(
                row_id=row_id,
                user_id=user_id,
                queue_type=queue_type,
                priority_score=priority_score,
                reason=reason,
            )
            score, _ = self._score_or_register(user_id)
            score.link_queue_entry(row_id, queue_type)
            return [entry, score], {"entry_id": row_id, "user_id": str(user_id)}

        args = {
            "user_id": user_id,
            "queue_type": queue_type,
            "priority_score": priority_score,
            "reason": reason,
            "entry_id": entry_id,
        }
        return self._execute("enqueue", args, idempotency_key, action)

    def assign(self, *, entry_id: str, agent_id: int, idempotency_key: str | None = None) -> CommandResult:
        def action() -> tuple[list[Aggregate], dict[str, str]]:
            self._require_agent(agent_id)
            entry = self._entry(entry_id)
            entry.assign(agent_id)
            return [entry], {"entry_id": entry_id}

        return self._execute("assign", {"entry_id": entry_id, "agent_id": agent_id}, idempotency_key, action)

    def schedule_callback(
        self,
        *,
        entry_id: str,
        scheduled_for: datetime,
        reason: str | None = None,
        callback_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        new_callback_id = callback_id or new_row_id()

        def action() -> tuple[list[Aggregate], dict[str, str]]:
            entry = self._entry(entry_id)
            entry.schedule_callback(callback_id=new_callback_id, scheduled_for=scheduled_for, reason=reason)
            return [entry], {"entry_id": entry_id, "callback_id": new_callback_id}

        args = {
            "entry_id": entry_id,
            "scheduled_for": scheduled_for,
            "reason": reason,
            "callback_id": callback_id,
        }
        return self._execute("schedule_callback", args, idempotency_key, action)

    def clear_callback(
        self, *, entry_id: str, reason: str | None = None, idempotency_key: str | None = None
    ) -> CommandResult:
        def action() -> tuple[list[Aggregate], dict[str, str]]:
            entry = self._entry(entry_id)
            entry.clear_callback(reason)
            return [entry], {"entry_id": entry_id}

        return self._execute("clear_callback", {"entry_id": entry_id, "reason": reason}, idempotency_key, action)

    def complete(
        self, *, entry_id: str, reason: str | None = None, idempotency_key: str | None = None
    ) -> CommandResult:
        def action() -> tuple[list[Aggregate], dict[str, str]]:
            entry = self._entry(entry_id)
            entry.complete(reason)
            return [entry], {"entry_id": entry_id}

        return self._execute("complete", {"entry_id": entry_id, "reason": reason}, idempotency_key, action)

    def cancel(self, *, entry_id: str, reason: str | None = None, idempotency_key: str | None = None) -> CommandResult:
        def action() -> tuple[list[Aggregate], dict[str, str]]:
            entry = self._entry(entry_id)
            entry.cancel(reason)
            return [entry], {"entry_id": entry_id}

        return self._execute("cancel", {"entry_id": entry_id, "reason": reason}, idempotency_key, action)

    # ================================================================ conversions

    def record_conversion(
        self,
        *,
        user_id: int,
        conversion_type: str,
        conversion_reason: str | None = None,
        primary_agent_id: int | None = None,
        documents_received: Any = None,
        signature_obtained: bool = False,
        requirements_met: Any = None,
        claim_value: Decimal | str | int | None = None,
        estimated_commission: Decimal | str | int | None = None,
        converted_at: datetime | None = None,
        conversion_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> CommandResult:
        """One atomic save of three things: the conversion, the user's score deactivated
        and the user's open queue entries completed with reason ``converted``."""
        row_id = conversion_id or new_row_id()

        def action() -> tuple[list[Aggregate], dict[str, str]]:
            check_varchar("conversion_id", row_id)
            if _conversion_uuid(row_id) in self.repository:
                raise AlreadyExists(f"conversion {row_id} already exists")
            if primary_agent_id is not None:
                self._require_agent(primary_agent_id)
            score, _ = self._score_or_register(user_id)
            conversion = Conversion.record(
                row_id=row_id,
                score=score,
                user_id=user_id,
                conversion_type=conversion_type,
                conversion_reason=conversion_reason,
                primary_agent_id=primary_agent_id,
                documents_received=documents_received,
                signature_obtained=signature_obtained,
                requirements_met=requirements_met,
                claim_value=claim_value,
                estimated_commission=estimated_commission,
                converted_at=converted_at,
                now=utc_now(),
            )
            score.deactivate_for_conversion(row_id)
            entries = [self._entry(eid) for eid in score.queue_entry_ids]
            open_entries = [entry for entry in entries if entry.is_open]
            for entry in open_entries:
                entry.complete(CONVERTED)
            ids = {
                "conversion_id": row_id,
                "user_id": str(user_id),
                "completed_entries": ",".join(e.row_id for e in open_entries),
            }
            return [conversion, score, *open_entries], ids

        args = {
            "user_id": user_id,
            "conversion_type": conversion_type,
            "conversion_reason": conversion_reason,
            "primary_agent_id": primary_agent_id,
            "documents_received": documents_received,
            "signature_obtained": signature_obtained,
            "requirements_met": requirements_met,
            "claim_value": claim_value,
            "estimated_commission": estimated_commission,
            "converted_at": converted_at,
            "conversion_id": conversion_id,
        }
        return self._execute("record_conversion", args, idempotency_key, action)

    def reverse_conversion(
        self, *, conversion_id: str, reason: str, idempotency_key: str | None = None
    ) -> CommandResult:
        """Reverses a conversion and reactivates the user, atomically. The queue entries
        completed by the conversion stay completed: enqueue the user again if needed."""

        def action() -> tuple[list[Aggregate], dict[str, str]]:
            conversion = self._conversion(conversion_id)
            conversion.reverse(reason)
            score = self._existing_score(conversion.user_id)
            score.reactivate(conversion_id, reason)
            return [conversion, score], {"conversion_id": conversion_id, "user_id": str(conversion.user_id)}

        args = {"conversion_id": conversion_id, "reason": reason}
        return self._execute("reverse_conversion", args, idempotency_key, action)

    # ================================================================ reads (aggregates)

    def get_score(self, user_id: int) -> UserCallScore:
        return self._existing_score(user_id)

    def get_entry(self, entry_id: str) -> CallQueueEntry:
        return self._entry(entry_id)

    def get_conversion(self, conversion_id: str) -> Conversion:
        return self._conversion(conversion_id)

    # ================================================================ internals

    def _execute(self, command: str, args: dict[str, Any], key: str | None, action: Action) -> CommandResult:
        fingerprint = _fingerprint(command, args)
        if key is not None:
            check_varchar("idempotency_key", key)
        for attempt in range(MAX_ATTEMPTS):
            # one pooled connection for this attempt's reads, returned before the save;
            # each attempt reads afresh (on SQLite a read transaction is a snapshot).
            # A key is not looked up first: the save refuses a key already recorded (the
            # group commit checks every key of a group in one statement), and a retry
            # that the rules now refuse (the user is converted) finds its first result here.
            with self.sql_recorder.reading():
                try:
                    aggregates, ids = action()
                except ConvTrackError:
                    if key is not None and (first := self._replay(key, command, fingerprint)):
                        return first
                    raise
            record = IdempotencyRecord(key, command, fingerprint, ids) if key is not None else None
            try:
                recordings = self.save(*aggregates, idempotency=record)
            except IntegrityError:
                if key is not None and (first := self._replay(key, command, fingerprint)):
                    return first
                # another writer got there first: back off a little (jittered), reload, decide again
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
                continue
            position = max((r.notification.id for r in recordings), default=None)
            return CommandResult(command, ids, position)
        raise ConcurrencyConflict(f"{command}: the same records kept changing under {MAX_ATTEMPTS} attempts; try again")

    def _replay(self, key: str, command: str, fingerprint: str) -> CommandResult | None:
        record = self.sql_recorder.idempotency_record(key)
        if record is None:
            return None
        if record.command != command or record.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"idempotency key {key!r} was already used for a different {record.command} request"
            )
        return CommandResult(command, record.result, record.position, replayed=True)

    def _score_or_register(self, user_id: int) -> tuple[UserCallScore, bool]:
        user_id = check_user_id(user_id)
        try:
            return self.repository.get(score_id(user_id)), False
        except AggregateNotFoundError:
            return UserCallScore.register(user_id, new_row_id()), True

    def _existing_score(self, user_id: int) -> UserCallScore:
        user_id = check_user_id(user_id)
        try:
            score: UserCallScore = self.repository.get(score_id(user_id))
        except AggregateNotFoundError:
            raise UnknownUser(f"no score is recorded for user {user_id}") from None
        return score

    def _entry(self, entry_id: str) -> CallQueueEntry:
        check_varchar("entry_id", entry_id)
        try:
            entry: CallQueueEntry = self.repository.get(queue_entry_id(entry_id))
        except AggregateNotFoundError:
            raise UnknownQueueEntry(f"no queue entry {entry_id!r}") from None
        return entry

    def _conversion(self, row_id: str) -> Conversion:
        check_varchar("conversion_id", row_id)
        try:
            conversion: Conversion = self.repository.get(_conversion_uuid(row_id))
        except AggregateNotFoundError:
            raise UnknownConversion(f"no conversion {row_id!r}") from None
        return conversion

    def _require_agent(self, agent_id: int) -> None:
        check_int("agent_id", agent_id)
        if self.agents is not None and not self.agents.exists(agent_id):
            raise UnknownAgent(f"no agent {agent_id} in the agents table")


def _conversion_uuid(row_id: str) -> UUID:
    return conversion_id(row_id)


def _fingerprint(command: str, args: dict[str, Any]) -> str:
    body = json.dumps({"command": command, "args": args}, sort_keys=True, default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()
