"""The tracker's Prometheus metrics, and the registry a scrape reads.

Counters and histograms live here; the store's facts (positions, head, lag, lease) are
read at scrape time by ``store_metrics.StoreCollector``. Under ``convtrack serve
--workers N`` every process writes its values to files in ``PROMETHEUS_MULTIPROC_DIR``
(prometheus-client's multiprocess mode: a fresh directory per run, made by ``serve``) and
a scrape of any worker sums them; anywhere else values stay in the process.

Labels are few and bounded: route templates (never raw paths), command names, a handful
of outcomes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from infrastructure.observability import MULTIPROC_DIR, RUN_DIR_PREFIX

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 500)

REQUEST_SECONDS = Histogram(
    "convtrack_http_request_duration_seconds",
    "HTTP requests: time from the request's arrival to the end of its response",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
)
COMMANDS = Counter(
    "convtrack_commands",
    "Commands received over HTTP, by command (the route's name) and outcome",
    ("command", "outcome"),
)
IDEMPOTENT_REPLAYS = Counter(
    "convtrack_idempotent_replays",
    "Commands answered from their Idempotency-Key's stored result (nothing recorded)",
    ("command",),
)
API_KEY_FAILURES = Counter(
    "convtrack_api_key_failures",
    "Requests refused for their API key: missing, or unknown or revoked",
    ("reason",),
)
GROUP_COMMIT_SIZE = Histogram(
    "convtrack_group_commit_size",
    "Commands' saves written together in one committed transaction (group commit)",
    buckets=GROUP_BUCKETS,
)
GROUP_COMMIT_SPLITS = Counter(
    "convtrack_group_commit_splits",
    "Groups the database refused as a whole and that were committed save by save",
)
PROJECTION_FAILURES = Counter(
    "convtrack_projection_failures",
    "Times a follower stopped at an event it could not apply or at a store error (then retried)",
    ("projection",),
)


def scrape_registry(*collectors: Any) -> CollectorRegistry:
    """What a scrape shows: this process's metrics (or, in multiprocess mode, every
    process's, summed) and ``collectors`` (read at each scrape)."""
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROC_DIR in os.environ:
        MultiProcessCollector(registry)
    else:
        registry.register(REGISTRY)
    for collector in collectors:
        registry.register(collector)
    return registry


@contextmanager
def multiprocess_metrics() -> Iterator[str]:
    """A fresh metrics directory for the processes started inside (they inherit the
    variable), removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=RUN_DIR_PREFIX) as folder:
        os.environ[MULTIPROC_DIR] = folder
        try:
            yield folder
        finally:
            os.environ.pop(MULTIPROC_DIR, None)


def process_exited(pid: int | None) -> None:
    """Tell multiprocess mode that ``pid`` is gone (its counters still count)."""
    if pid is not None and MULTIPROC_DIR in os.environ:
        mark_process_dead(pid)
