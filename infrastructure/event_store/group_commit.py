"""Group commit: the saves that arrive while one transaction commits share the next one.

Every write transaction takes the writer lock (see recorder.py) and holds it until its
commit is on disk, so with one transaction per command, concurrent commands paid their
lock round trips and their log flush one after another. Here one committer thread per
process takes every save waiting at that moment and writes them in one transaction:
one lock, one ``max(id)``, one multi-row insert of events, one of idempotency records,
one commit. Each caller still learns its own ids, or its own error:

- two saves in one group that would clash (the same aggregate version, or the same
  idempotency key) are never put in one transaction: the later one waits for the next
  group, where the database rejects it as it would have alone;
- if the database rejects a group (an event written meanwhile by another process), the
  group is rolled back and its saves are committed one by one, so only the save that
  really clashed gets the IntegrityError (and its command is retried on fresh state);
- a save whose idempotency key is already recorded is refused alone (the write checks
  every key of the group in one statement), so a retried request costs no other caller;
- any other error is every caller's error, and nothing of that group is committed.
Nothing is acknowledged before its transaction has committed.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import exc as sa_exc

from infrastructure.event_store.idempotency import IdempotencyRecord
from infrastructure.observability.metrics import GROUP_COMMIT_SIZE, GROUP_COMMIT_SPLITS

EventRow = tuple[bytes, int, str, bytes]
Transact = Callable[["list[PendingSave]"], None]

MAX_GROUP = 500


@dataclass(eq=False)
class PendingSave:
    """One caller's save: its event rows, its idempotency record (if the command had a
    key) and, once done, its ids or its error."""

    rows: list[EventRow]
    idempotency: IdempotencyRecord | None = None
    ids: list[int] = field(default_factory=list)
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def idempotency_key(self) -> str | None:
        return None if self.idempotency is None else self.idempotency.key


class GroupCommitter:
    def __init__(self, transact: Transact, after_commit: Callable[[], None], *, inline: bool = False) -> None:
        """``transact(saves)`` writes and commits the saves in one transaction, filling
        each save's ``ids`` (or its own ``error``), and raises if nothing was committed;
        ``after_commit`` runs once a group has committed. ``inline``: commit each save in
        the caller's own thread (an in-memory SQLite database exists once per thread, so
        another thread would write elsewhere)."""
        self.inline = inline
        self._transact = transact
        self._after_commit = after_commit
        self._queue: deque[PendingSave] = deque()
        self._wakeup = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def commit(self, save: PendingSave) -> list[int]:
        if self.inline:
            self._commit_group([save])  # sets done, with the ids or the error
        else:
            self._enqueue(save)
        save.done.wait()
        if save.error is not None:
            raise save.error
        return save.ids

    def _enqueue(self, save: PendingSave) -> None:
        with self._wakeup:
            self._start_if_needed()
            self._queue.append(save)
            self._wakeup.notify()

    def _start_if_needed(self) -> None:
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._queue:
                    self._wakeup.wait()
                group = [self._queue.popleft() for _ in range(min(MAX_GROUP, len(self._queue)))]
            while group:
                now, group = _without_clashes(group)
                try:
                    self._commit_group(now)
                except BaseException as error:  # never leave a caller waiting
                    for save in now:
                        if not save.done.is_set():
                            save.error = error
                            save.done.set()

    def _commit_group(self, group: list[PendingSave]) -> None:
        try:
            self._transact(group)
        except sa_exc.IntegrityError as error:
            if len(group) == 1:
                _fail(group, error)
                return
            GROUP_COMMIT_SPLITS.inc()
            for save in group:  # find the save that clashed with another process's write
                save.ids, save.error = [], None
                self._commit_alone(save)
            return
        except BaseException as error:
            _fail(group, error)
            return
        self._finish(group)

    def _commit_alone(self, save: PendingSave) -> None:
        try:
            self._transact([save])
        except BaseException as error:
            _fail([save], error)
            return
        self._finish([save])

    def _finish(self, group: list[PendingSave]) -> None:
        if written := sum(save.error is None for save in group):  # not the saves refused alone (a recorded key)
            GROUP_COMMIT_SIZE.observe(written)
        try:
            self._after_commit()
        finally:
            for save in group:
                save.done.set()


def _fail(group: Sequence[PendingSave], error: BaseException) -> None:
    for save in group:
        save.ids = []
        save.error = error
        save.done.set()


def _without_clashes(group: list[PendingSave]) -> tuple[list[PendingSave], list[PendingSave]]:
    """Split off the saves that clash with an earlier save of the group (same aggregate
    version or same idempotency key): they go in a later transaction."""
    versions: set[tuple[bytes, int]] = set()
    keys: set[str] = set()
    now: list[PendingSave] = []
    later: list[PendingSave] = []
    for save in group:
        mine = {(row[0], row[1]) for row in save.rows}
        if mine & versions or (save.idempotency_key is not None and save.idempotency_key in keys):
            later.append(save)
            continue
        versions |= mine
        if save.idempotency_key is not None:
            keys.add(save.idempotency_key)
        now.append(save)
    return now, later
