"""BootstrapRun: the once-only cutover from the legacy tables, as events.

Started fixes the bootstrap time and the legacy tables' checksums (so a resumed run
produces identical rows and cutover can prove the legacy tables did not change);
Completed makes a second bootstrap refuse; CutOver and RolledBack record the swaps.
After a rollback, ResyncStarted opens a new cycle: the next bootstrap brings the tracker up
to the legacy tables as the legacy app left them (``bootstrap.resync``), with the legacy
checksums of that moment, and Completed closes it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import OperationRefused
from domain.identity import bootstrap_run_id


class BootstrapRun(Aggregate):
    @staticmethod
    def create_id() -> UUID:
        return bootstrap_run_id()

    def __init__(self) -> None:
        self.bootstrap_time: datetime | None = None
        self.legacy_checksums: dict[str, str] = {}
        self.legacy_counts: dict[str, int] = {}
        self.completed = False
        self.counts: dict[str, int] = {}
        self.cut_over = False
        self.cutover_position: int | None = None
        self.legacy_label: str | None = None
        self.cutover_pending: str | None = None
        self.rollback_pending: str | None = None
        self.history: list[dict[str, Any]] = []
        self.cycle = 1  # which bootstrap: 1, then one more for each bootstrap after a rollback
        self.resync_time: datetime | None = None  # when the latest bootstrap after a rollback began

    class Started(Aggregate.Created):
        bootstrap_time: datetime
        legacy_checksums: dict[str, str]
        legacy_counts: dict[str, int]

        def apply(self, aggregate: BootstrapRun) -> None:
            aggregate.bootstrap_time = self.bootstrap_time
            aggregate.legacy_checksums = dict(self.legacy_checksums)
            aggregate.legacy_counts = dict(self.legacy_counts)

    class Completed(Aggregate.Event):
        counts: dict[str, int]

        def apply(self, aggregate: BootstrapRun) -> None:
            aggregate.completed = True
            aggregate.counts = dict(self.counts)

    class CutoverStarted(Aggregate.Event):
        """Recorded before the swap, so a cutover interrupted after its rename can be
        finished (or redone) under the same name."""

        legacy_label: str

        def apply(self, aggregate: BootstrapRun) -> None:
            aggregate.cutover_pending = self.legacy_label

    class RollbackStarted(Aggregate.Event):
        rolled_back_label: str

        def apply(self, aggregate: BootstrapRun) -> None:
            aggregate.rollback_pending = self.rolled_back_label

    class CutOver(Aggregate.Event):
        position: int
        legacy_label: str

        def apply(self, aggregate: BootstrapRun) -> None:
            aggregate.cut_over = True
            aggregate.cutover_pending = None
            aggregate.cutover_position = self.position
            aggregate.legacy_label = self.legacy_label
            aggregate.history.append({"cutover": self.legacy_label, "position": self.position})

    class RolledBack(Aggregate.Event):
        position: int
        rolled_back_label: str

        def apply(self, aggregate: BootstrapRun) -> None:
            aggregate.cut_over = False
            aggregate.rollback_pending = None
            aggregate.history.append({"rollback": self.rolled_back_label, "position": self.position})

    class ResyncStarted(Aggregate.Event):
        """A bootstrap after a rollback began: the legacy tables' checksums and counts as
        it found them (cutover compares them again), and its time (the new rows it seeds
        get it as last_queue_check, on a rerun too)."""

        resync_time: datetime
        legacy_checksums: dict[str, str]
        legacy_counts: dict[str, int]

        def apply(self, aggregate: BootstrapRun) -> None:
            aggregate.cycle += 1
            aggregate.completed = False
            aggregate.resync_time = self.resync_time
            aggregate.legacy_checksums = dict(self.legacy_checksums)
            aggregate.legacy_counts = dict(self.legacy_counts)

    @property
    def rolled_back(self) -> bool:
        """A rollback finished and no bootstrap began since (one may take up the legacy
        app's writes): each cycle after the first begins after one more rollback."""
        rollbacks = sum(1 for entry in self.history if "rollback" in entry)
        return self.completed and not self.cut_over and self.rollback_pending is None and rollbacks >= self.cycle

    @property
    def may_resync(self) -> bool:
        """Whether a bootstrap may take up the legacy app's writes: after a finished
        rollback, or again in a later cycle before its cutover (the legacy app wrote after
        that cycle's bootstrap)."""
        later_cycle = self.completed and not self.cut_over and self.cycle > 1 and self.cutover_pending is None
        return self.rolled_back or later_cycle

    @property
    def resyncing(self) -> bool:
        """A bootstrap after a rollback began and has not completed."""
        return not self.completed and self.cycle > 1

    @classmethod
    def start(
        cls, *, bootstrap_time: datetime, legacy_checksums: dict[str, str], legacy_counts: dict[str, int]
    ) -> BootstrapRun:
        return cls._create(
            cls.Started,
            id=cls.create_id(),
            bootstrap_time=bootstrap_time,
            legacy_checksums=legacy_checksums,
            legacy_counts=legacy_counts,
        )

    def complete(self, counts: dict[str, int]) -> None:
        if self.completed:
            raise OperationRefused("the bootstrap has already completed; it runs once")
        self.trigger_event(self.Completed, counts=counts)

    def start_resync(
        self, *, resync_time: datetime, legacy_checksums: dict[str, str], legacy_counts: dict[str, int]
    ) -> None:
        if not self.may_resync:
            raise OperationRefused("a bootstrap after the first runs only after a finished rollback")
        self.trigger_event(
            self.ResyncStarted,
            resync_time=resync_time,
            legacy_checksums=legacy_checksums,
            legacy_counts=legacy_counts,
        )

    def start_cutover(self, legacy_label: str) -> None:
        if not self.completed:
            raise OperationRefused("cutover needs a completed bootstrap: run `convtrack bootstrap` first")
        if self.cut_over:
            raise OperationRefused(f"already cut over (legacy tables kept as {self.legacy_label})")
        self.trigger_event(self.CutoverStarted, legacy_label=legacy_label)

    def start_rollback(self, rolled_back_label: str) -> None:
        if not self.cut_over:
            raise OperationRefused("nothing to roll back: the tracker's tables are not live")
        self.trigger_event(self.RollbackStarted, rolled_back_label=rolled_back_label)

    def record_cutover(self, position: int, legacy_label: str) -> None:
        if not self.completed:
            raise OperationRefused("cutover needs a completed bootstrap: run `convtrack bootstrap` first")
        if self.cut_over:
            raise OperationRefused(f"already cut over (legacy tables kept as {self.legacy_label})")
        self.trigger_event(self.CutOver, position=position, legacy_label=legacy_label)

    def record_rollback(self, position: int, rolled_back_label: str) -> None:
        if not self.cut_over:
            raise OperationRefused("nothing to roll back: the tracker's tables are not live")
        self.trigger_event(self.RolledBack, position=position, rolled_back_label=rolled_back_label)
