"""Asking the operator before a command that changes the live tables (cutover, rollback).

On a terminal the operator types the tracker database's name (MariaDB/MySQL: the
database; SQLite: the file's name); anywhere else ``--yes`` is required. Either way the
refusal comes before anything is written.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import typer

from domain.errors import OperationRefused
from infrastructure.database import database_name
from infrastructure.settings import Settings


def confirm(
    action: str,
    database_url: str,
    yes: bool,
    *,
    interactive: bool | None = None,
    ask: Callable[[str], str] | None = None,
) -> None:
    """Return when confirmed; else ``OperationRefused`` (exit 5)."""
    if yes:
        return
    expected = database_name(database_url)
    if not (sys.stdin.isatty() if interactive is None else interactive):
        raise OperationRefused(f"{action} changes the live tables of {expected}: confirm on a terminal or pass --yes")
    typed = (ask or _prompt)(f"{action} changes the live tables of {expected}. Type the database's name to confirm")
    if typed.strip() != expected:
        raise OperationRefused(f"the name typed ({typed.strip()[:64]!r}) is not {expected!r}: nothing done")


def _prompt(text: str) -> str:
    return str(typer.prompt(text, default="", show_default=False))


def pause_point(settings: Settings) -> Callable[[str], None]:
    """Testing only (``CONVTRACK_PAUSE_AT``): stop for good at that checkpoint, saying so on
    stderr, so a test can kill the process exactly there."""

    def checkpoint(point: str) -> None:
        if point != settings.pause_at:
            return
        print(f"paused at {point}", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)

    return checkpoint
