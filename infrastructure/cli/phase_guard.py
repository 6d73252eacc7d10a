"""The lifecycle check of every ``convtrack`` command, in one place.

``guard_phases`` wraps the callback of every registered subcommand: after its arguments
are parsed (so ``--help`` and bad usage answer as before) and before its body runs, the
phase is read without creating or writing anything (``read_lifecycle``) and a command the
phase does not allow (``domain/lifecycle.py``: ``ALLOWED``) is refused with ``WrongPhase``
(one ``error:`` line naming the phase and the next step, exit 5). A command with no rule
in ``ALLOWED`` cannot be registered: every CLI run would fail on import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import typer

from domain.lifecycle import ALL, ALLOWED, require
from infrastructure.settings import Settings
from infrastructure.wiring import read_lifecycle

AGENT_GROUPS = frozenset({"conversion", "call", "queue", "score"})  # the agents' commands
DATABASE_OPTION = {"sample-data": "url"}  # commands that act on the database an option names
GUARDED = "__convtrack_phase_key__"
# An option that makes a command another one, with its own rule in ALLOWED: `verify`
# compares legacy and staging before cutover, `verify --live` the live tables after it.
OPTION_KEYS: dict[tuple[str, str], str] = {("verify", "--live"): "verify-live"}


def allowed_key(top_level: str) -> str:
    """The key of ``ALLOWED`` that rules a top-level subcommand or group."""
    key = "command" if top_level in AGENT_GROUPS else top_level
    if key not in ALLOWED:
        raise RuntimeError(f"`convtrack {top_level}` has no rule in domain.lifecycle.ALLOWED")
    return key


def key_for(key: str, what: str, params: dict[str, Any]) -> tuple[str, str]:
    """The key of ``ALLOWED`` (and the command's name for people) once its options are
    parsed: ``verify`` with ``live`` set is ``verify-live`` (``OPTION_KEYS``)."""
    for (command, option), other in OPTION_KEYS.items():
        if key == command and params.get(option.removeprefix("--").replace("-", "_")):
            return other, f"{what} {option}"
    return key, what


def check_phase(key: str, what: str, params: dict[str, Any]) -> None:
    """Refuse ``what`` (ruled by ``ALLOWED[key]``) unless the database is in a phase that
    allows it. Commands allowed in every phase do not read it."""
    if ALLOWED[key] == ALL:
        return
    option = DATABASE_OPTION.get(key)
    settings = Settings(database_url=params[option]) if option else Settings()
    require(key, read_lifecycle(settings).phase, what)


def guarded(key: str, what: str, callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)  # typer reads the parameters through __wrapped__ / __signature__
    def run(**params: Any) -> Any:
        check_phase(*key_for(key, what, params), params)
        return callback(**params)

    setattr(run, GUARDED, key)
    return run


def leaf_commands(app: typer.Typer, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every subcommand as (its words, its typer CommandInfo), groups walked."""
    for info in app.registered_commands:
        name = info.name or typer.main.get_command_name(getattr(info.callback, "__name__", ""))
        yield (*path, name), info
    for group in app.registered_groups:
        assert group.typer_instance is not None and isinstance(group.name, str), "groups are named"
        yield from leaf_commands(group.typer_instance, (*path, group.name))


def guard_phases(app: typer.Typer) -> None:
    """Wrap every subcommand of ``app`` with its phase check (once)."""
    for words, info in leaf_commands(app):
        if info.callback is None or hasattr(info.callback, GUARDED):
            continue
        info.callback = guarded(allowed_key(words[0]), " ".join(words), info.callback)
