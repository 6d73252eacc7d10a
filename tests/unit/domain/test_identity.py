"""Aggregate ids are stored: each aggregate's create_id must keep giving the same uuid."""

from __future__ import annotations

from uuid import UUID

from domain.bootstrap_run import BootstrapRun
from domain.call_queue_entry import CallQueueEntry
from domain.conversion import Conversion
from domain.identity import new_score_row_id
from domain.legacy_schema import LegacySchema
from domain.user_call_score import UserCallScore


def test_each_aggregate_creates_the_ids_already_stored() -> None:
    assert UserCallScore.create_id(42) == UUID("aac770ab-ba3d-5cb9-8a49-7cee4326be2a")
    assert CallQueueEntry.create_id("cq_1") == UUID("bc542cfa-35e4-5bd5-ada6-12ef32b50fdb")
    assert Conversion.create_id("cv_1") == UUID("15322148-2498-5c4d-a9f0-d86f87b074bb")
    assert BootstrapRun.create_id() == UUID("32ddbf2e-0ec1-58f8-9575-dd4064a9bf98")
    assert LegacySchema.create_id() == UUID("5c11262d-7a76-58d9-959e-c5b57b0693f9")
    assert new_score_row_id(42) == "b35d380c88ee5edea490620b331e3810"


def test_seeded_and_registered_scores_of_one_user_share_the_id_the_service_looks_up() -> None:
    registered = UserCallScore.register(42, "r1")
    assert registered.id == UserCallScore.create_id(42)
