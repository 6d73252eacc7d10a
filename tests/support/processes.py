"""Running the real ``convtrack`` command in child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

CONVTRACK = str(Path(sys.executable).parent / "convtrack")


def convtrack_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["CONVTRACK_DATABASE_URL"] = database_url
    env.setdefault("CONVTRACK_REPORTS_DIR", str(Path(tempfile.gettempdir()) / "convtrack-test-reports"))
    env.update(extra)
    return env


def run_convtrack(
    database_url: str, *args: str, timeout: float = 120, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CONVTRACK, *args],
        env=convtrack_env(database_url, **extra),
        stdin=subprocess.DEVNULL,  # never the terminal pytest may run in (cutover and rollback would ask)
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_convtrack(database_url: str, *args: str, **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CONVTRACK, *args],
        env=convtrack_env(database_url, **extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
