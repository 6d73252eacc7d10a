"""The exit codes ``convtrack --help`` lists are read off the error hierarchy
(``domain/errors.py``), and every exit code the code uses is among them."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import infrastructure.api.app  # noqa: F401 - load every error class the tracker defines
import infrastructure.cli.main  # noqa: F401
from domain import errors
from domain.errors import ConvTrackError
from infrastructure.cli.exit_codes import epilog, exit_codes
from tests.support.in_process_cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
EXITING_CALLS = {"fail", "Exit", "exit", "SystemExit"}  # fail(message, code), typer.Exit(code), sys.exit(code)


def every_error_class(base: type[ConvTrackError] = ConvTrackError) -> set[type[ConvTrackError]]:
    found = {base}
    for sub in base.__subclasses__():
        found |= every_error_class(sub)
    return found


def literal_exit_codes() -> dict[int, str]:
    """Exit codes written as numbers in the code: ``fail(…, 8)``, ``typer.Exit(8)``, ``sys.exit(8)``."""
    found: dict[int, str] = {}
    for package in ("domain", "infrastructure", "bootstrap"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                code = node.args[-1]
                if name in EXITING_CALLS and isinstance(code, ast.Constant) and isinstance(code.value, int):
                    found[code.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_each_exit_code_of_the_hierarchy_is_listed_once_with_its_most_general_meaning() -> None:
    codes = exit_codes()
    in_domain = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, ConvTrackError)]
    assert set(codes) == {0} | {error.exit_code for error in in_domain}
    assert codes[2].startswith("Bad input") and codes[3] == "The thing the command names does not exist"
    assert list(codes) == sorted(codes)


def test_every_error_class_anywhere_exits_with_a_listed_code() -> None:
    unlisted = {cls.__qualname__: cls.exit_code for cls in every_error_class() if cls.exit_code not in exit_codes()}
    assert not unlisted, f"add a class with these exit codes to domain/errors.py: {unlisted}"


def test_every_exit_code_written_as_a_number_in_the_code_is_listed() -> None:
    found = literal_exit_codes()
    assert found, "the scan must find the literal codes (e.g. rollback's checksum exit)"
    unlisted = {code: where for code, where in found.items() if code not in exit_codes()}
    assert not unlisted, f"exit codes used but not in domain/errors.py: {unlisted}"


def test_root_help_ends_with_the_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["--help"], monkeypatch, capsys)
    assert code == 0 and "Exit codes:" in out
    flat = " ".join(out.split())
    for number, meaning in exit_codes().items():
        assert f"{number} {meaning}" in flat, (number, meaning)
    assert epilog().count("\n\n") == len(exit_codes())
