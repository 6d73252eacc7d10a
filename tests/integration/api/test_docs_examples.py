"""The curl examples of docs/api.md run as written against a live ``convtrack serve`` on
the session's MariaDB, in the order the page shows them, and each gets the status its
``# NNN`` comment says. Only the port of ``BASE=`` is changed (the server listens on a free
one); curl reports each status on stderr (``-w '%{stderr}…'``) so the page's own commands,
pipes included, run untouched."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from domain.lifecycle import Phase
from tests.support.lifecycle import bring_to
from tests.support.mariadb_server import MariaDBServer, free_port
from tests.support.processes import convtrack_env, start_convtrack
from tests.support.waiting import eventually

API_DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"
STATUS = re.compile(r"^# (\d{3})\b", re.MULTILINE)
MARK = "HTTP-STATUS"
CURL = f"curl() {{ command curl -w '%{{stderr}}{MARK} %{{http_code}}\\n' \"$@\"; }}\n"


def http_examples() -> str:
    """The ```sh blocks of the page's "Every endpoint, tried" section, in order."""
    text = API_DOC.read_text(encoding="utf-8")
    section = text.split("### Every endpoint, tried", 1)[1].split("\n### ", 1)[0]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, re.DOTALL))


def test_the_page_shows_every_operation_of_the_api() -> None:
    from infrastructure.api.app import create_app
    from infrastructure.settings import Settings

    examples = http_examples()
    shown = {
        (method, re.sub(r"\$\w+|crm-[\w-]+|no-such-entry|10005", "{}", path))
        for method, path in re.findall(r"curl -s (?:-X (\w+) )?\"?\$BASE(/[^\s?\"]*)", examples)
    }
    shown = {(method or "GET", path) for method, path in shown}
    document = create_app(Settings(database_url="sqlite://")).openapi()
    for path, operations in document["paths"].items():
        for method in operations:
            assert (method.upper(), re.sub(r"\{\w+\}", "{}", path)) in shown, (method, path)


@pytest.mark.slow
def test_the_curl_examples_run_as_written_and_get_the_statuses_they_show(mariadb_server: MariaDBServer) -> None:
    url = mariadb_server.url(mariadb_server.create_database())
    bring_to(url, Phase.CUT_OVER, users=0)  # agents 1-12
    port = free_port()
    script = http_examples().replace("BASE=http://127.0.0.1:8000", f"BASE=http://127.0.0.1:{port}", 1)
    assert f":{port}" in script
    expected = [int(status) for status in STATUS.findall(script)]
    env = convtrack_env(url, CONVTRACK_EMBEDDED_FOLLOWER="true")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # convtrack, as a user has it
    serve = start_convtrack(url, "serve", "--port", str(port), "--workers", "1")
    try:
        assert eventually(lambda: _ready(f"http://127.0.0.1:{port}"), 60), "the server did not become ready"
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", CURL + script],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    finally:
        serve.terminate()
        serve.communicate(timeout=60)
    assert ran.returncode == 0, ran.stderr[-2000:]
    statuses = [int(line.split()[1]) for line in ran.stderr.splitlines() if line.startswith(MARK)]
    assert len(expected) >= 25 and statuses == expected, (statuses, expected, ran.stdout[-3000:])


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
