"""The exit codes of ``convtrack``, read off the error hierarchy (``domain/errors.py``):
each code once, with the first line of the docstring of the most general error that has
it. The root ``--help`` lists them (its epilog), so they cannot drift from the code."""

from __future__ import annotations

import inspect

from domain import errors
from domain.errors import ConvTrackError


def exit_codes() -> dict[int, str]:
    """``{0: "success", code: meaning, …}`` in code order."""
    found: dict[int, tuple[int, str]] = {}
    for _, error in inspect.getmembers(errors, inspect.isclass):
        if not issubclass(error, ConvTrackError) or error.__module__ != errors.__name__:
            continue
        depth = len(error.__mro__)
        meaning = inspect.cleandoc(error.__doc__ or error.__name__).splitlines()[0].rstrip(".")
        if error.exit_code not in found or depth < found[error.exit_code][0]:
            found[error.exit_code] = (depth, meaning)
    return {0: "success", **{code: found[code][1] for code in sorted(found)}}


def epilog() -> str:
    """The root help's epilog: one line per exit code."""
    lines = [f"{code:>3}  {meaning}" for code, meaning in exit_codes().items()]
    return "Exit codes:\n\n" + "\n\n".join(lines)
