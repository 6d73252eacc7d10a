"""What the projections read: the event store's recorder and the mapper that makes its
stored events domain events. The service application provides both (the library's
``Application.recorder`` and ``Application.mapper``); a replay process, which has no
application, passes them as :class:`StoreEvents`. Nothing here imports the application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import ApplicationRecorder, EventStore, JSONTranscoder, Mapper

from infrastructure.event_store.recorder import SqlEventRecorder


class EventSource(Protocol):
    @property
    def recorder(self) -> ApplicationRecorder: ...

    @property
    def mapper(self) -> Mapper[UUID]: ...


@dataclass(frozen=True)
class StoreEvents:
    """An :class:`EventSource` made of its two parts."""

    recorder: SqlEventRecorder
    mapper: Mapper[UUID]


def sql_recorder_of(source: EventSource) -> SqlEventRecorder:
    """The source's recorder, which projections read with SQL of their own."""
    recorder = source.recorder
    if not isinstance(recorder, SqlEventRecorder):
        raise TypeError(f"projections read a SqlEventRecorder, not {type(recorder).__name__}")
    return recorder


def aggregate_or_none(source: EventSource, aggregate_id: UUID) -> Any:
    """The aggregate as the application's repository would load it, or None if it has no events."""
    repository: Repository[UUID] = Repository(EventStore(source.mapper, source.recorder))
    try:
        return repository.get(aggregate_id)
    except AggregateNotFoundError:
        return None


@dataclass(frozen=True)
class MapperRecipe:
    """How to make a mapper equal to a given one in another process (a Mapper itself does
    not pickle): its transcoder's class and its transcodings' classes."""

    transcoder: type[JSONTranscoder]
    transcodings: tuple[type, ...]

    @classmethod
    def of(cls, mapper: Mapper[UUID]) -> MapperRecipe:
        transcoder = mapper.transcoder
        if mapper.cipher is not None or mapper.compressor is not None or not isinstance(transcoder, JSONTranscoder):
            raise ValueError("only a plain JSON mapper (no cipher, no compressor) can be remade in another process")
        return cls(type(transcoder), tuple(type(t) for t in transcoder.names.values()))

    def build(self) -> Mapper[UUID]:
        transcoder = self.transcoder()
        for transcoding in self.transcodings:
            transcoder.register(transcoding())
        return Mapper(transcoder=transcoder)
