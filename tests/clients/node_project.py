"""The node projects under tests/clients (real clients of the tracker: the app's Prisma
ORM, a TypeScript client generated from /openapi.json), installed and run from pytest.

``npm ci`` runs only when a project's package-lock.json changed since its last install
(a stamp in its node_modules), with npm's download cache in ``~/.cache/convtrack/npm``
(``CONVTRACK_NPM_CACHE`` moves it), so a warm run downloads and installs nothing. Install
scripts are not run: none of the pinned packages needs one, and Prisma's would try to
download native engines that generation does not use."""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

CLIENTS = Path(__file__).resolve().parent
STAMP = ".convtrack-lock.sha256"


def npm_cache() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "convtrack" / "npm"
    return Path(os.environ.get("CONVTRACK_NPM_CACHE", default))


def require_node() -> None:
    """Skips the calling test when node or npm is missing (``.ci/ensure-node`` installs them)."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: run `bash .ci/ensure-node` (node 20.19 or later)")


@contextmanager
def _locked(project: Path) -> Iterator[None]:
    with open(project / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def install(name: str) -> Path:
    """``tests/clients/<name>`` with its locked dependencies installed; returns its path."""
    require_node()
    project = CLIENTS / name
    lock_hash = hashlib.sha256((project / "package-lock.json").read_bytes()).hexdigest()
    stamp = project / "node_modules" / STAMP
    with _locked(project):
        if not stamp.exists() or stamp.read_text() != lock_hash:
            run(
                project,
                "npm", "ci", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund",
                "--cache", str(npm_cache()),
                timeout=300,
            )  # fmt: skip
            stamp.write_text(lock_hash)
    return project


def bin_of(project: Path, tool: str) -> str:
    return str(project / "node_modules" / ".bin" / tool)


def run(
    project: Path, *argv: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Runs ``argv`` in ``project``; a non-zero exit fails the test with its output."""
    done = subprocess.run(
        argv,
        cwd=project,
        env={**os.environ, "CHECKPOINT_DISABLE": "1", "NO_COLOR": "1", **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        pytest.fail(f"{' '.join(argv)} exited {done.returncode}\n{done.stdout}\n{done.stderr}", pytrace=False)
    return done


def node_test(project: Path, *files: str, env: Mapping[str, str] | None = None) -> int:
    """``node --test`` on the compiled ``files``: how many tests passed. Any failure fails
    the calling test with node's TAP report (which names each failed assertion)."""
    report = run(project, "node", "--test", "--test-reporter=tap", *files, env=env, timeout=180).stdout
    passed = re.search(r"^# pass (\d+)$", report, re.MULTILINE)
    if passed is None or not re.search(r"^# fail 0$", report, re.MULTILINE):
        pytest.fail(f"node --test did not report its results:\n{report}", pytrace=False)
    return int(passed.group(1))
