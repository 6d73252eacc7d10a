"""The service layer: ``ConversionTracker.execute(command)`` runs every command (declared
once in ``domain/commands.py``, decided by its handler in ``command_handlers.py``) for the
HTTP API, the CLI, the bootstrapper and Python callers alike. No SQL and no HTTP here.

Every command may carry an idempotency key: the first result is stored in the same
transaction as the command's events, and a repeat returns it and records nothing.
A command that loses an optimistic-concurrency race is retried on fresh state.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Recording, Repository
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, JSONTranscoder

from domain.bootstrap_run import BootstrapRun
from domain.call_queue_entry import CallQueueEntry
from domain.commands import Command
from domain.conversion import Conversion
from domain.errors import (
    ConcurrencyConflict,
    ConvTrackError,
    IdempotencyKeyReused,
    UnknownAgent,
    UnknownConversion,
    UnknownQueueEntry,
    UnknownUser,
)
from domain.event_metadata import EventMetadata, stamp
from domain.identity import conversion_id, new_row_id, queue_entry_id, score_id
from domain.legacy_schema import LegacySchema
from domain.user_call_score import UserCallScore
from domain.values import ScoringRule, check_int, check_user_id, check_varchar
from infrastructure.command_handlers import handler_for
from infrastructure.event_store.recorder import IdempotencyRecord, SqlEventRecorder
from infrastructure.event_store.transcodings import register_extra_transcodings
from infrastructure.provenance import new_request_id, operator_actor

TRANSCODER_TOPIC = "infrastructure.event_store.orjson_transcoder:OrjsonReadingTranscoder"

MAX_ATTEMPTS = 10


class AgentChecker(Protocol):
    def exists(self, agent_id: int) -> bool: ...


@dataclass(frozen=True)
class CommandResult:
    """What a command did: the ids it touched and the position of its last event
    (wait for a projection to reach it to read your own write)."""

    command: str
    ids: dict[str, str | list[str]]
    position: int | None
    replayed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "ids": self.ids,
            "position": self.position,
            "replayed": self.replayed,
        }


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
        actor: str | None = None,
    ) -> None:
        """``actor``: who records events when a call names nobody (default: this process's
        operator, ``user@host``)."""
        self._given_recorder = recorder
        self.default_actor = actor or operator_actor()
        super().__init__(
            env={"PERSISTENCE_MODULE": "eventsourcing.popo", "TRANSCODER_TOPIC": TRANSCODER_TOPIC, **(env or {})}
        )
        self.loader = RepositoryLoader(self.repository, agents, scoring_rule or ScoringRule())

    @property
    def agents(self) -> AgentChecker | None:
        """Who checks agent ids (None: unchecked, as for a writer that does not check)."""
        return self.loader.agents

    @agents.setter
    def agents(self, agents: AgentChecker | None) -> None:
        self.loader.agents = agents

    def construct_recorder(self) -> ApplicationRecorder:
        return self._given_recorder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        register_extra_transcodings(transcoder)

    @property
    def sql_recorder(self) -> SqlEventRecorder:
        return self._given_recorder

    # ================================================================ commands

    def execute(
        self,
        command: Command,
        *,
        idempotency_key: str | None = None,
        actor: str | None = None,
        request_id: str | None = None,
    ) -> CommandResult:
        """Run a command: decide on fresh state, save atomically, retry a lost race.

        With an idempotency key the first result is stored with the command's events; a
        repeat returns it and records nothing (the same key for another request: 409).
        Every event carries ``actor`` (default: ``default_actor``), ``request_id`` (default:
        a fresh one) and the key (``domain/event_metadata.py``)."""
        key = idempotency_key
        fingerprint = command.fingerprint()
        if key is not None:
            check_varchar("idempotency_key", key)
        handle = handler_for(command)
        metadata = EventMetadata(actor or self.default_actor, request_id or new_request_id(), key)
        for attempt in range(MAX_ATTEMPTS):
            # one pooled connection for this attempt's reads, returned before the save;
            # each attempt reads afresh (on SQLite a read transaction is a snapshot).
            # A key is not looked up first: the save refuses a key already recorded (the
            # group commit checks every key of a group in one statement), and a retry
            # that the rules now refuse (the user is converted) finds its first result here.
            with self.sql_recorder.reading():
                try:
                    aggregates, ids = handle(self.loader)
                except ConvTrackError:
                    if key is not None and (first := self._replay(key, command.name, fingerprint)):
                        return first
                    raise
            record = IdempotencyRecord(key, command.name, fingerprint, ids) if key is not None else None
            try:
                recordings = self.save(*aggregates, metadata=metadata, idempotency=record)
            except IntegrityError:
                if key is not None and (first := self._replay(key, command.name, fingerprint)):
                    return first
                # another writer got there first: back off a little (jittered), reload, decide again
                time.sleep(random.uniform(0, 0.002 * 2**attempt))
                continue
            position = max((r.notification.id for r in recordings), default=None)
            return CommandResult(command.name, ids, position)
        raise ConcurrencyConflict(
            f"{command.name}: the same records kept changing under {MAX_ATTEMPTS} attempts; try again"
        )

    def save(self, *objs: Any, metadata: EventMetadata | None = None, **kwargs: Any) -> list[Recording[UUID]]:
        """The library's save, with every new event stamped with ``metadata`` (by default:
        ``default_actor`` and a fresh request id), so nothing recorded through the service
        layer is anonymous."""
        metadata = metadata or EventMetadata(self.default_actor, new_request_id())
        events = (e for obj in objs if obj is not None for e in getattr(obj, "pending_events", [obj]))
        stamp(events, metadata)
        return super().save(*objs, **kwargs)

    # ================================================================ queries

    def get_score(self, user_id: int) -> UserCallScore:
        return self.loader.existing_score(user_id)

    def get_entry(self, entry_id: str) -> CallQueueEntry:
        return self.loader.entry(entry_id)

    def bootstrap_run(self) -> BootstrapRun | None:
        """The bootstrap's record (None before the first bootstrap)."""
        return self._optional(BootstrapRun.create_id())

    def legacy_schema(self) -> LegacySchema | None:
        """The legacy tables' schema as the bootstrap captured it (None before)."""
        return self._optional(LegacySchema.create_id())

    def head_position(self) -> int:
        """The position of the newest event (0 when none): what a projection must reach."""
        return self.sql_recorder.max_notification_id() or 0

    # ================================================================ internals

    def _optional(self, aggregate_id: UUID) -> Any:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _replay(self, key: str, command: str, fingerprint: str) -> CommandResult | None:
        record = self.sql_recorder.idempotency_record(key)
        if record is None:
            return None
        if record.command != command or record.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                f"idempotency key {key!r} was already used for a different {record.command} request"
            )
        return CommandResult(command, record.result, record.position, replayed=True)


class RepositoryLoader:
    """Loads aggregates for the handlers, naming what is missing in the domain's terms."""

    def __init__(self, repository: Repository, agents: AgentChecker | None, scoring_rule: ScoringRule) -> None:
        self.repository = repository
        self.agents = agents
        self.scoring_rule = scoring_rule

    def score_or_register(self, user_id: int) -> UserCallScore:
        user_id = check_user_id(user_id)
        try:
            score: UserCallScore = self.repository.get(score_id(user_id))
        except AggregateNotFoundError:
            return UserCallScore.register(user_id, new_row_id())
        return score

    def existing_score(self, user_id: int) -> UserCallScore:
        user_id = check_user_id(user_id)
        try:
            score: UserCallScore = self.repository.get(score_id(user_id))
        except AggregateNotFoundError:
            raise UnknownUser(f"no score is recorded for user {user_id}") from None
        return score

    def entry(self, entry_id: str) -> CallQueueEntry:
        check_varchar("entry_id", entry_id)
        try:
            entry: CallQueueEntry = self.repository.get(queue_entry_id(entry_id))
        except AggregateNotFoundError:
            raise UnknownQueueEntry(f"no queue entry {entry_id!r}") from None
        return entry

    def conversion(self, row_id: str) -> Conversion:
        check_varchar("conversion_id", row_id)
        try:
            conversion: Conversion = self.repository.get(conversion_id(row_id))
        except AggregateNotFoundError:
            raise UnknownConversion(f"no conversion {row_id!r}") from None
        return conversion

    def entry_exists(self, entry_id: str) -> bool:
        return queue_entry_id(entry_id) in self.repository

    def conversion_exists(self, row_id: str) -> bool:
        return conversion_id(row_id) in self.repository

    def require_agent(self, agent_id: int) -> None:
        check_int("agent_id", agent_id)
        if self.agents is not None and not self.agents.exists(agent_id):
            raise UnknownAgent(f"no agent {agent_id} in the agents table")
