"""Logs and metrics of a real ``convtrack serve --workers 2`` and ``convtrack project`` on
MariaDB, read as an operator's tools read them: JSON lines from stderr, and /metrics
parsed by prometheus-client's own parser."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.workers import reuse_port_supported
from infrastructure.observability.logs import tracker_version
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import bring_to
from tests.support.mariadb_server import free_port
from tests.support.processes import CONVTRACK, convtrack_env, run_convtrack
from tests.support.sockets import LISTENING, socket_inodes
from tests.support.waiting import eventually

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def live(mariadb_url: str) -> tuple[str, str]:
    """A cut-over MariaDB database and an API key named web-app."""
    bring_to(mariadb_url, Phase.CUT_OVER, users=0)
    recorder = open_tracker(Settings(database_url=mariadb_url)).sql_recorder
    try:
        return mariadb_url, ApiKeys(recorder.engine).create("web-app")
    finally:
        recorder.close()


def samples(text: str) -> Samples:
    """Every sample of a scrape, by name and labels (parsed by prometheus-client)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(found: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(value for (each, pairs), value in found.items() if each == name and wanted <= set(pairs))


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; terminated (then killed) whatever happens."""
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)


def start(url: str, log: Path, *args: str, **env: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as stderr:  # a file, never a pipe nobody reads: the access log fills a pipe in seconds
        return subprocess.Popen(
            [CONVTRACK, *args], env=convtrack_env(url, **env), stdout=subprocess.DEVNULL, stderr=stderr
        )


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def environment_of(pid: int) -> dict[str, str]:
    pairs = (item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
    return dict(pairs)


def send_commands(base: str, key: str, count: int) -> None:
    """``count`` enqueues, each on a new connection (so the kernel spreads them over the
    workers), the one with index 7 carrying a request id."""
    for user in range(1, count + 1):
        headers = {"X-API-Key": key} | ({"X-Request-ID": "obs-req-7"} if user == 7 else {})
        body = {"user_id": user, "queue_type": "unsigned_users", "priority_score": 1}
        assert httpx.post(f"{base}/api/queue", json=body, headers=headers, timeout=10).status_code == 201


@pytest.mark.slow
@pytest.mark.skipif(not reuse_port_supported(), reason="serve's own worker processes are Linux-only")
def test_serve_with_two_workers_logs_json_and_sums_every_workers_metrics(
    live: tuple[str, str], tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    url, key = live
    port, log = free_port(), tmp_path / "serve.log"
    serve = start(url, log, "serve", "--port", str(port), "--workers", "2", "--log-format", "json",
                  CONVTRACK_METRICS_REQUIRE_KEY="true")  # fmt: skip
    started.append(serve)
    base, auth = f"http://127.0.0.1:{port}", {"X-API-Key": key}
    assert eventually(lambda: _ready(base) and len(socket_inodes(port, LISTENING)) == 2, 90)
    folder = Path(environment_of(children(serve.pid)[0])["PROMETHEUS_MULTIPROC_DIR"])
    assert folder.is_dir() and folder != Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR", "/nonexistent"))

    commands = 20
    send_commands(base, key, commands)
    body = {"user_id": 500, "queue_type": "unsigned_users", "priority_score": 1}
    for _ in range(2):  # recorded, then replayed
        sent = httpx.post(f"{base}/api/queue", json=body, headers=auth | {"Idempotency-Key": "obs-1"}, timeout=10)
        assert sent.status_code in (200, 201)
    assert httpx.post(f"{base}/api/queue", json=body, timeout=10).status_code == 401  # no key
    assert httpx.post(f"{base}/api/queue", json=body, headers={"X-API-Key": "ct_wrong"}, timeout=10).status_code == 401
    assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401  # CONVTRACK_METRICS_REQUIRE_KEY

    def scrape() -> Samples:
        answer = httpx.get(f"{base}/metrics", headers=auth, timeout=10)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        return samples(answer.text)

    assert eventually(lambda: total(scrape(), "convtrack_projection_lag_events", projection="live") == 0, 30)
    for found in (scrape() for _ in range(6)):  # whichever worker answers, the sums are every worker's
        assert total(found, "convtrack_commands_total", command="enqueue", outcome="recorded") == commands + 1
        assert total(found, "convtrack_commands_total", command="enqueue", outcome="replayed") == 1
        assert total(found, "convtrack_idempotent_replays_total", command="enqueue") == 1
        assert total(found, "convtrack_api_key_failures_total", reason="missing") == 2  # a command and /metrics
        assert total(found, "convtrack_api_key_failures_total", reason="unknown") == 1
        assert total(found, "convtrack_http_request_duration_seconds_count", route="/api/queue") == commands + 4
        assert total(found, "convtrack_group_commit_size_sum") == commands + 1  # the replay saved nothing
        assert total(found, "convtrack_store_head_position") >= commands + 1
        assert total(found, "convtrack_projection_position", projection="live") >= commands + 1
        assert ("convtrack_projection_lag_seconds", (("projection", "live"),)) in found
        assert total(found, "convtrack_projection_lease_holder", projection="live") == 1  # serve's follower
        assert total(found, "convtrack_lifecycle_phase", phase="cut_over") == 1
        assert not any("/api/queue/" in str(labels) for _, labels in found)  # route templates, never paths

    serve.terminate()
    assert serve.wait(60) == 0
    assert not folder.exists(), "the run's metrics directory is removed on exit"
    _check_serve_log(json_lines(log), url, key, commands)


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _check_serve_log(lines: list[dict[str, Any]], url: str, key: str, commands: int) -> None:
    [startup] = [line for line in lines if line.get("event") == "startup"]
    password = url.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert startup["command"] == "serve" and startup["version"] == tracker_version()
    assert startup["workers"] == 2 and startup["follower"] == "own process"
    assert startup["database"].endswith(url.rsplit("@", 1)[1]) and "***" in startup["database"]
    assert password not in json.dumps(lines)
    access = [line for line in lines if line["logger"] == "convtrack.access"]
    posts = [line for line in access if line["method"] == "POST" and line["path"] == "/api/queue"]
    assert len(posts) == commands + 4
    assert len({line["pid"] for line in posts}) == 2, "both workers served and logged"
    [tagged] = [line for line in posts if line["request_id"] == "obs-req-7"]
    assert tagged["status"] == 201 and tagged["key_name"] == "web-app" and tagged["duration_ms"] > 0
    assert sorted(line["status"] for line in posts).count(401) == 2
    assert all(line["key_name"] is None for line in posts if line["status"] == 401)
    assert key not in json.dumps(lines), "the key itself is never logged"
    assert not [line for line in lines if line["logger"].startswith("uvicorn") and line["level"] == "INFO"]


@pytest.mark.slow
def test_project_serves_its_metrics_on_its_own_port_and_names_its_lease(
    live: tuple[str, str], tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    url, _ = live
    port, log = free_port(), tmp_path / "project.log"
    project = start(url, log, "project", "--interval", "0.05", "--metrics-port", str(port), "--log-format", "json")
    started.append(project)

    def scrape() -> Samples:
        try:
            return samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
        except httpx.HTTPError:
            return {}

    assert eventually(lambda: total(scrape(), "convtrack_projection_lease_holder", projection="live") == 1, 60)
    found = scrape()
    [startup] = [line for line in json_lines(log) if line.get("event") == "startup"]
    assert startup["command"] == "project" and startup["metrics_port"] == port
    assert ("convtrack_projection_lease_holder", (("holder", startup["holder"]), ("projection", "live"))) in found
    assert total(found, "convtrack_projection_lag_events", projection="live") == 0
    assert total(found, "convtrack_store_up") == 1
    project.terminate()
    assert project.wait(30) == 0


def test_log_level_filters_and_text_is_the_default(sqlite_url: str) -> None:
    bring_to(sqlite_url, Phase.CUT_OVER, users=0)
    quiet = run_convtrack(sqlite_url, "project", "--once", "--log-level", "warning", "--log-format", "json")
    assert quiet.returncode == 0, quiet.stderr
    assert "convtrack project" not in quiet.stderr and '"level":"INFO"' not in quiet.stderr
    told = run_convtrack(sqlite_url, "project", "--once", "--log-format", "json")
    info = [json.loads(line) for line in told.stderr.splitlines() if line.startswith("{")]
    assert [line["message"] for line in info if line.get("event") == "startup"] != []
    assert any(line.get("stage") == "projecting" for line in info)  # its milestones
    text = run_convtrack(sqlite_url, "project", "--once", CONVTRACK_LOG_LEVEL="info")
    assert " INFO convtrack.project: convtrack project catching up once: version=" in text.stderr, text.stderr
    env_quiet = run_convtrack(sqlite_url, "project", "--once", CONVTRACK_LOG_LEVEL="error")
    assert " INFO " not in env_quiet.stderr


def test_a_busy_metrics_port_is_one_line_and_a_foreign_metrics_dir_is_ignored(sqlite_url: str) -> None:
    bring_to(sqlite_url, Phase.CUT_OVER, users=0)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_convtrack(sqlite_url, "project", "--metrics-port", str(port), "--log-level", "error")
    assert busy.returncode == 3, busy.stderr
    assert busy.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port} for metrics: Address already in use"
    ]
    # another application's (here: missing) multiprocess directory would fail every command at start
    elsewhere = run_convtrack(sqlite_url, "project", "--once", PROMETHEUS_MULTIPROC_DIR="/nonexistent/metrics")
    assert elsewhere.returncode == 0, elsewhere.stderr


def test_long_commands_log_their_milestones(sqlite_url: str) -> None:
    bring_to(sqlite_url, Phase.NOT_BOOTSTRAPPED, users=40)
    messages: dict[str, list[str]] = {}
    for command in (("bootstrap",), ("verify",), ("cutover", "--yes"), ("rebuild",), ("rollback", "--yes")):
        done = run_convtrack(sqlite_url, *command, CONVTRACK_LOG_FORMAT="json")
        assert done.returncode == 0, done.stderr
        lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
        messages[command[0]] = [line["message"] for line in lines]
        stages = {line["stage"] for line in lines if "stage" in line}
        assert all(any(m == f"{stage}: started" for m in messages[command[0]]) for stage in stages)
        assert all(any(m.startswith(f"{stage}: finished") for m in messages[command[0]]) for stage in stages)
    assert any(re.fullmatch(r"bootstrap: seeding \d+ legacy rows by the .+", m) for m in messages["bootstrap"])
    assert "seeding events: started" in messages["bootstrap"] and any(
        m.startswith("bootstrap: completed at event position") for m in messages["bootstrap"]
    )
    assert "verifying: started" in messages["verify"]
    assert any(m.startswith("cutover: done at event position") for m in messages["cutover"])
    assert "rebuilding: started" in messages["rebuild"]
    assert any(m.startswith("rollback: done at event position") for m in messages["rollback"])
