"""Metadata travels inside the event's stored state and changes nothing else about it."""

from __future__ import annotations

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex
from eventsourcing.utils import get_topic

from domain.event_metadata import META_KEY, EventMetadata, stamp
from domain.user_call_score import UserCallScore
from domain.values import ScoringRule, utc_now
from infrastructure.event_store.orjson_transcoder import OrjsonReadingTranscoder
from infrastructure.event_store.transcodings import register_extra_transcodings


def mapper() -> Mapper:
    transcoder: JSONTranscoder = OrjsonReadingTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):  # the library's defaults
        transcoder.register(transcoding)
    register_extra_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def test_a_stamped_event_keeps_its_metadata_through_the_store_and_rebuilds_the_same_aggregate() -> None:
    score = UserCallScore.register(42, "row-42")
    score.record_call_attempt(agent_id=7, outcome="answered", called_at=utc_now(), rule=ScoringRule())
    plain = [mapper().to_stored_event(e) for e in score.pending_events]
    stamp(score.pending_events, EventMetadata("web-app", "req-1", "key-1"))
    stamp(score.pending_events, EventMetadata("someone-else"))  # the first stamp stays
    stored = [mapper().to_stored_event(e) for e in score.collect_events()]
    assert [s.topic for s in stored] == [
        get_topic(UserCallScore.Registered),
        get_topic(UserCallScore.CallAttemptRecorded),
    ]
    assert all(len(s.state) > len(p.state) for s, p in zip(stored, plain, strict=True))
    events = [mapper().to_domain_event(s) for s in stored]
    assert [EventMetadata.of(e) for e in events] == [EventMetadata("web-app", "req-1", "key-1")] * 2
    assert [mapper().to_domain_event(p) for p in plain] == events, "fields and equality are unchanged"
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None and rebuilt.row == score.row and not hasattr(rebuilt, META_KEY)


def test_an_event_recorded_without_metadata_has_none_and_empty_fields_cost_no_bytes() -> None:
    event = UserCallScore.register(1, "r").collect_events()[0]
    assert EventMetadata.of(mapper().to_domain_event(mapper().to_stored_event(event))) is None
    assert EventMetadata("ops@host").as_state() == {"actor": "ops@host"}
