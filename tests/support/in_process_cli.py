"""``convtrack`` run inside the test's process (fast, for many cases): its exit code and output."""

from __future__ import annotations

import sys

import pytest

from infrastructure.cli.main import main


def run_cli(
    argv: list[str] | tuple[str, ...], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``convtrack argv`` in this process: (exit code, stdout, stderr) of this run only (what
    the test printed or logged before, e.g. an in-process server's access lines, is dropped)."""
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["convtrack", *argv])
    code = 0
    try:
        main()
    except SystemExit as exited:
        code = exited.code if isinstance(exited.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err
