"""What an operator sees of a running tracker: logs (``logs``), Prometheus metrics
(``metrics``, ``store_metrics``) and the HTTP layer that feeds both (``http``).

prometheus-client picks its multiprocess mode when it is first imported, from
``PROMETHEUS_MULTIPROC_DIR``, and every process of ours imports it (the event store counts
its group commits). Only a directory ``serve`` made for its workers may be used: a value
inherited from elsewhere (another application's, or a directory that is gone) would make
every ``convtrack`` command write files there, or fail at start. This package is imported
before prometheus-client in every process, so it drops such a value here."""

from __future__ import annotations

import os
from pathlib import Path

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
RUN_DIR_PREFIX = "convtrack-metrics-"


def _forget_foreign_metrics_dir() -> None:
    inherited = os.environ.get(MULTIPROC_DIR)
    if inherited is not None and not (Path(inherited).name.startswith(RUN_DIR_PREFIX) and Path(inherited).is_dir()):
        del os.environ[MULTIPROC_DIR]


_forget_foreign_metrics_dir()
