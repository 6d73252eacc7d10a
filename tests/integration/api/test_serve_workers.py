"""``convtrack serve --workers N``: each worker listens on its own SO_REUSEPORT socket, so
connections opened together are spread over the workers (uvicorn's shared socket let
one worker accept almost all of them); the projection follower runs in its own process;
a dead worker or follower is replaced (a busy port: tests/e2e/test_configuration.py); children
whose parent is killed stop by themselves."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from domain import commands
from domain.lifecycle import Phase
from infrastructure.api.api_keys import ApiKeys
from infrastructure.api.workers import reuse_port_supported
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.support.lifecycle import bring_to
from tests.support.mariadb_server import free_port
from tests.support.processes import start_convtrack
from tests.support.sockets import ESTABLISHED, LISTENING, socket_inodes
from tests.support.waiting import eventually

pytestmark = pytest.mark.skipif(not reuse_port_supported(), reason="SO_REUSEPORT spreading is Linux-only")


def child_pids(parent: int) -> list[int]:
    """The API workers and the follower process started by ``serve``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(entry))
    return sorted(found)


def connections_per_worker(pids: list[int], port: int) -> Counter[int]:
    inodes = socket_inodes(port, ESTABLISHED)
    owned: Counter[int] = Counter()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                owned[pid] += 1
    return owned


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server did not become healthy")


@pytest.mark.slow
def test_workers_share_connections_a_follower_process_projects_dead_children_are_replaced(
    sqlite_url: str,
) -> None:
    bring_to(sqlite_url, Phase.CUT_OVER, users=0)  # commands are taken only while cut over
    key = ApiKeys(open_tracker(Settings(database_url=sqlite_url)).sql_recorder.engine).create("test")
    port = free_port()
    serve = start_convtrack(sqlite_url, "serve", "--port", str(port), "--workers", "2")
    base = f"http://127.0.0.1:{port}"

    def workers() -> list[int]:
        return [pid for pid in child_pids(serve.pid) if _listening(pid, port)]

    try:
        wait_ready(base)
        assert eventually(lambda: len(child_pids(serve.pid)) == 3 and len(workers()) == 2, 30)
        serving = workers()
        [follower] = set(child_pids(serve.pid)) - set(serving)

        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(24)]  # opened together
        try:
            for client in clients:
                client.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
            for client in clients:
                assert client.recv(65536).startswith(b"HTTP/1.1 200")
            spread = connections_per_worker(serving, port)
        finally:
            for client in clients:
                client.close()
        assert sum(spread.values()) == 24
        assert min(spread[w] for w in serving) >= 3, spread  # kernel hashing: both get a share

        assert read_own_write(base, key, user_id=1)  # applied by the follower process

        time.sleep(max(0.0, 5.5 - _age(serve.pid)))  # a child dying later than 5 s is restarted
        os.kill(serving[0], signal.SIGKILL)
        os.kill(follower, signal.SIGKILL)
        assert eventually(lambda: len(set(child_pids(serve.pid)) - {serving[1]}) == 2 and len(workers()) == 2, 30)
        wait_ready(base)
        assert read_own_write(base, key, user_id=2)  # by the new follower

        survivors = child_pids(serve.pid)
        os.kill(serve.pid, signal.SIGKILL)
        serve.wait(10)
        assert eventually(lambda: not any(Path(f"/proc/{pid}").exists() for pid in survivors), 15)
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait(10)


def read_own_write(base: str, key: str, user_id: int) -> bool:
    headers = {"X-API-Key": key}
    body = {"user_id": user_id, "queue_type": "unsigned_users", "priority_score": 1}
    written = httpx.post(f"{base}/api/queue", json=body, headers=headers, timeout=10)
    assert written.status_code == 201, written.text
    params = {"queueType": "unsigned_users", "min_position": written.json()["position"], "wait_seconds": 10}
    queue = httpx.get(f"{base}/api/queue/getQueue", params=params, headers=headers, timeout=20)
    assert queue.status_code == 200, queue.text
    return written.json()["ids"]["entry_id"] in {entry["id"] for entry in queue.json()["items"]}


def _listening(pid: int, port: int) -> bool:
    """Whether process ``pid`` owns a listening socket on ``port``."""
    inodes = socket_inodes(port, LISTENING)
    try:
        return any(os.readlink(fd)[8:-1] in inodes for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def _age(pid: int) -> float:
    """Seconds since process ``pid`` started."""
    ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    uptime = float(Path("/proc/uptime").read_text().split()[0])
    return uptime - ticks / os.sysconf("SC_CLK_TCK")


@pytest.mark.slow
def test_a_projection_failure_leaves_the_api_serving_and_names_the_position(sqlite_url: str) -> None:
    bring_to(sqlite_url, Phase.CUT_OVER, users=0)  # agents 1-12
    tracker = open_tracker(Settings(database_url=sqlite_url))
    key = ApiKeys(tracker.sql_recorder.engine).create("test")
    tracker.agents = None  # a writer that did not check agents: this event cannot be projected
    poison = tracker.execute(commands.RecordConversion(user_id=2, conversion_type="signed", primary_agent_id=404))
    port = free_port()
    serve = start_convtrack(sqlite_url, "serve", "--port", str(port), "--workers", "2")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base)
        time.sleep(max(0.0, 7.0 - _age(serve.pid)))  # past the time a failing child would stop the server
        assert serve.poll() is None
        written = httpx.post(
            f"{base}/api/call-attempts",
            json={"user_id": 7, "agent_id": 1, "outcome": "answered"},
            headers={"X-API-Key": key},
            timeout=10,
        )
        assert written.status_code == 201, written.text
        health = httpx.get(f"{base}/health", timeout=10).json()
        assert health["projected"] < (poison.position or 0) <= health["head"]
        ready = httpx.get(f"{base}/ready", timeout=10)  # the follower is another process: read from the store
        assert ready.status_code == 503 and health["projected"] < ready.json()["stuck"]["position"] <= (
            poison.position or 0
        )
    finally:
        serve.terminate()
        _, stderr = serve.communicate(timeout=60)
    stopped = [line for line in stderr.splitlines() if "cannot apply event at position" in line]
    named = {int(re.search(r"at position (\d+)", line).group(1)) for line in stopped}  # type: ignore[union-attr]
    assert len(named) == 1 and 0 < named.pop() <= (poison.position or 0), stderr
    assert len(stopped) >= 2, stderr  # retried, each failure logged
    assert all(re.search(r"retrying in \d+ s$", line) for line in stopped)


def test_a_starting_worker_takes_no_connection_until_its_app_has_started() -> None:
    """The kernel spreads connections over every listening SO_REUSEPORT socket: a worker
    that listened before its app started (its lifespan opens the pool) held connections
    that a ready worker could have answered."""
    import asyncio
    import threading

    import uvicorn

    from infrastructure.api.workers import reuse_port_socket

    started, release = threading.Event(), threading.Event()

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        if scope["type"] == "lifespan":
            message = await receive()  # type: ignore[operator]
            assert message["type"] == "lifespan.startup"
            started.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 20)
            await send({"type": "lifespan.startup.complete"})  # type: ignore[operator]
            await receive()  # type: ignore[operator]
            await send({"type": "lifespan.shutdown.complete"})  # type: ignore[operator]
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [reuse_port_socket("127.0.0.1", port)]})
    thread.start()
    try:
        assert started.wait(20)
        with pytest.raises(ConnectionRefusedError):  # nothing listens yet: a client goes elsewhere
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        release.set()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 204
    finally:
        release.set()
        server.should_exit = True
        thread.join(20)
