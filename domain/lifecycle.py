"""The tracker's lifecycle: which phase the cutover is in, and which commands each phase
allows. The phase is derived from the ``BootstrapRun`` aggregate's events, so it is
persisted with everything else and survives any crash.

    not_bootstrapped → bootstrapping → bootstrapped → cut_over → rolled_back
                          ↑___________________________________________|  (bootstrap again)

Every command checks the phase before it creates or writes anything (``require``); a
refusal names the phase and the next step.
"""

from __future__ import annotations

import enum

from domain.bootstrap_run import BootstrapRun
from domain.errors import WrongPhase


class Phase(enum.StrEnum):
    NOT_BOOTSTRAPPED = "not_bootstrapped"
    BOOTSTRAPPING = "bootstrapping"
    BOOTSTRAPPED = "bootstrapped"
    CUT_OVER = "cut_over"
    ROLLED_BACK = "rolled_back"


MEANING: dict[Phase, str] = {
    Phase.NOT_BOOTSTRAPPED: "no bootstrap has started; the legacy tables are live",
    Phase.BOOTSTRAPPING: "a bootstrap started and has not completed; the legacy tables are live",
    Phase.BOOTSTRAPPED: "the bootstrap already completed; not cut over yet",
    Phase.CUT_OVER: "the tracker's tables are live",
    Phase.ROLLED_BACK: "a rollback brought (or, interrupted, is bringing) the legacy tables back",
}

NEXT_STEP: dict[Phase, str] = {
    Phase.NOT_BOOTSTRAPPED: "run `convtrack assess`, then `convtrack bootstrap`",
    Phase.BOOTSTRAPPING: "run `convtrack bootstrap` again: it resumes where it stopped",
    Phase.BOOTSTRAPPED: "run `convtrack verify`, then `convtrack cutover`",
    Phase.CUT_OVER: "the tracker's tables are live: agents' services record through it (`convtrack serve`)",
    Phase.ROLLED_BACK: (
        "the legacy tables are live again; `convtrack export` what was recorded since the cutover, "
        "or run `convtrack bootstrap` to take up the legacy app's writes for another cutover"
    ),
}


def phase_of(run: BootstrapRun | None) -> Phase:
    """An interrupted cutover is still ``bootstrapped`` (rerun cutover to finish it); an
    interrupted rollback is already ``rolled_back`` (no command may write meanwhile; rerun
    rollback to finish it). A bootstrap after a rollback is ``bootstrapping`` until it
    completes, then ``bootstrapped`` again."""
    if run is None:
        return Phase.NOT_BOOTSTRAPPED
    if not run.completed:
        return Phase.BOOTSTRAPPING
    if run.rollback_pending is not None:
        return Phase.ROLLED_BACK
    if run.cut_over:
        return Phase.CUT_OVER
    if run.rolled_back:  # and no bootstrap began since
        return Phase.ROLLED_BACK
    return Phase.BOOTSTRAPPED


ALL = frozenset(Phase)
AGENTS = frozenset({Phase.CUT_OVER})
ALLOWED: dict[str, frozenset[Phase]] = {
    "status": ALL,
    "db": ALL,  # the tracker's own schema (convtrack db upgrade|current|history), whatever the phase
    "assess": ALL,
    # bootstrap again after a rollback; in bootstrapped only in such a later cycle (the legacy
    # app wrote after its bootstrap), else the bootstrap itself refuses: it runs once
    "bootstrap": frozenset({Phase.NOT_BOOTSTRAPPED, Phase.BOOTSTRAPPING, Phase.BOOTSTRAPPED, Phase.ROLLED_BACK}),
    "verify": frozenset({Phase.BOOTSTRAPPED}),
    "verify-live": frozenset({Phase.CUT_OVER}),  # `verify --live`: the live tables against the events
    "cutover": frozenset({Phase.BOOTSTRAPPED}),
    "rollback": frozenset({Phase.CUT_OVER, Phase.ROLLED_BACK}),  # in rolled_back: only to finish an interrupted one
    "export": frozenset({Phase.CUT_OVER, Phase.ROLLED_BACK}),
    "project": frozenset({Phase.CUT_OVER}),
    "rebuild": frozenset({Phase.CUT_OVER}),
    "drop-retired": frozenset({Phase.CUT_OVER, Phase.ROLLED_BACK}),
    "drop-copy": frozenset({Phase.CUT_OVER, Phase.ROLLED_BACK}),  # not the kept legacy copy while cut over
    "sample-data": frozenset({Phase.NOT_BOOTSTRAPPED}),  # the phase of the database it fills (--url)
    "demo": ALL,  # its own database under --workdir
    "serve": ALL,  # a running server follows the phase: commands and queries only while cut over
    "api-key": ALL,
    "config": ALL,  # reads no database
    "command": AGENTS,  # the agents' commands: conversion, call, queue, score
    "history": ALL - {Phase.NOT_BOOTSTRAPPED},  # reads the events, which exist from the bootstrap on
}


def require(command: str, phase: Phase, what: str | None = None) -> None:
    """Refuse ``command`` (a key of ``ALLOWED``; ``what`` names it for people, e.g. ``call
    record``) in ``phase`` (``WrongPhase``: exit 5, HTTP 503)."""
    if phase not in ALLOWED[command]:
        raise WrongPhase(
            f"{what or command} is not possible in phase {phase} ({MEANING[phase]}); next: {NEXT_STEP[phase]}"
        )
