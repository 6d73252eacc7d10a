"""Following the store without ever dying silently, and following the lifecycle's phase.

``keep_following`` runs a runner's ``follow`` until told to stop: an event it cannot apply
is logged, recorded where ``/ready`` reads it, and retried with a backoff (1 s doubling to
30 s), never skipped; a store that does not answer is retried the same way.
``PhaseWatch`` reads the phase every second in a thread and reports each change;
``LiveFollower`` follows the live tables exactly while the phase is ``cut_over`` (before
cutover and after rollback the live names hold the legacy tables, which the tracker never
writes). The API workers, the follower process of ``serve`` and ``project`` use them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from domain.bootstrap_run import BootstrapRun
from domain.lifecycle import Phase, phase_of
from infrastructure.observability.metrics import PROJECTION_FAILURES
from infrastructure.projections import tracking
from infrastructure.projections.event_source import EventSource, aggregate_or_none
from infrastructure.projections.names import LIVE
from infrastructure.projections.rebuild import open_live_tables
from infrastructure.projections.runner import ProjectionFailed, ProjectionRunner

log = logging.getLogger("convtrack.projections")
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
PHASE_POLL_SECONDS = 1.0


def keep_following(runner: ProjectionRunner, stop: threading.Event, *, interval: float) -> None:
    """``runner.follow(stop)`` until ``stop`` is set, whatever it meets."""
    delay, failed_at = RETRY_FIRST_SECONDS, None
    while not stop.is_set():
        try:
            runner.follow(stop, interval=interval)
            return
        except ProjectionFailed as failure:
            PROJECTION_FAILURES.labels(runner.name).inc()
            if failure.position != failed_at:  # a new poison event: start the backoff again
                delay, failed_at = RETRY_FIRST_SECONDS, failure.position
            _record(runner, failure)
            log.error("%s; retrying in %.0f s", failure, delay)
        except Exception as error:  # the store did not answer (or a bug): say so and retry, never die
            PROJECTION_FAILURES.labels(runner.name).inc()
            log.error(
                "projection %r stopped: %s: %s; retrying in %.0f s", runner.name, type(error).__name__, error, delay
            )
        stop.wait(delay)
        delay = min(delay * 2, RETRY_MAX_SECONDS)


def _record(runner: ProjectionRunner, failure: ProjectionFailed) -> None:
    try:
        tracking.record_failure(runner.engine, runner.name, failure.position, str(failure))
    except Exception as error:  # the log line above still names the position
        log.error("could not record the failure at position %d: %s", failure.position, type(error).__name__)


def read_phase(events: EventSource) -> Phase:
    """The lifecycle's phase, from the ``BootstrapRun``'s events (one small read)."""
    return phase_of(aggregate_or_none(events, BootstrapRun.create_id()))


class PhaseWatch:
    """Reads the phase every ``every`` seconds in a daemon thread and calls ``changed(phase)``
    when it differs from the last phase handled (``phase``; None: report the first). A read
    or a ``changed`` that fails is logged and tried again at the next poll."""

    def __init__(
        self,
        events: EventSource,
        phase: Phase | None,
        changed: Callable[[Phase], None],
        *,
        every: float = PHASE_POLL_SECONDS,
    ) -> None:
        self.events = events
        self.phase = phase
        self.changed = changed
        self.every = every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="phase-watch", daemon=True)

    def start(self) -> PhaseWatch:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                phase = read_phase(self.events)
                if phase != self.phase:
                    log.warning("phase %s -> %s", self.phase, phase)
                    self.changed(phase)
                    self.phase = phase
            except Exception as error:  # the store did not answer: keep the last phase, read again
                log.warning("cannot follow the phase: %s: %s", type(error).__name__, error)


class LiveFollower:
    """Applies new events to the live tables in a thread, while the phase is cut_over:
    ``phase_changed`` starts it on cutover and stops it on rollback."""

    def __init__(self, events: EventSource, *, interval: float, batch_size: int = 5000) -> None:
        self.events = events
        self.interval = interval
        self.batch_size = batch_size
        self.runner: ProjectionRunner | None = None
        self.thread: threading.Thread | None = None
        self.stop_event = threading.Event()

    def phase_changed(self, phase: Phase) -> None:
        if phase is Phase.CUT_OVER:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        self.runner = ProjectionRunner(self.events, open_live_tables(self.events), LIVE, batch_size=self.batch_size)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(
            target=keep_following,
            args=(self.runner, self.stop_event),
            kwargs={"interval": self.interval},
            name="follower",
            daemon=True,
        )
        self.thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout=timeout)
        self.thread = None
