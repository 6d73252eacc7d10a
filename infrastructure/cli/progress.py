"""A progress bar with rate and ETA for long operator work (rich), and the same work's
milestones in the log: its start, every tenth of the way, its end (not every row)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

log = logging.getLogger("convtrack.progress")
STEPS = 10


class Advance(Protocol):
    def __call__(self, done: int, total: int) -> None: ...


@contextmanager
def progress_bar(description: str, *, console: Console | None = None, unit: str = "events") -> Iterator[Advance]:
    """Yields ``update(done, total)``; shows count, percentage, rate, elapsed and ETA."""
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console or Console(stderr=True), transient=False) as progress:
        task = progress.add_task(description, total=None, rate="")

        milestones = Milestones(description, unit)

        def update(done: int, total: int) -> None:
            elapsed = progress.tasks[task].elapsed or 0.0
            rate = f"{done / elapsed:,.0f} {unit}/s" if elapsed > 0 else ""
            progress.update(task, completed=done, total=max(total, done), rate=rate)
            milestones.reached(done, total)

        yield update
        milestones.finished()


class Milestones:
    """Logs ``description`` starting, passing each tenth of its total, and finishing."""

    def __init__(self, description: str, unit: str) -> None:
        self.description = description
        self.unit = unit
        self.started = time.monotonic()
        self.step = 0
        self.done = 0
        log.info("%s: started", description, extra={"stage": description})

    def reached(self, done: int, total: int) -> None:
        self.done = done
        step = done * STEPS // total if total > 0 else 0
        if step > self.step and done < total:
            self.step = step
            log.info(
                "%s: %d%% (%s of %s %s)",
                self.description,
                step * 100 // STEPS,
                f"{done:,}",
                f"{total:,}",
                self.unit,
                extra={"stage": self.description, "done": done, "total": total},
            )

    def finished(self) -> None:
        seconds = time.monotonic() - self.started
        log.info(
            "%s: finished, %s %s in %.1f s",
            self.description,
            f"{self.done:,}",
            self.unit,
            seconds,
            extra={"stage": self.description, "done": self.done, "seconds": round(seconds, 3)},
        )
