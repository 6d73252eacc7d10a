"""Several API worker processes that share the load evenly (``convtrack serve --workers N``).

uvicorn's own workers share one listening socket, and asyncio accepts every waiting
connection in one go: under load one worker took 26 of 32 keep-alive clients and ran
out of CPU while the other idled. Here each worker listens on its own socket bound to
the same port with SO_REUSEPORT, and the kernel spreads new connections across them
(by a hash of the connection's addresses), as nginx's ``reuse_port`` does.

The projection follower runs in a process of its own instead of inside every API worker:
applying a batch of events is a few tens of milliseconds of Python that held the GIL of
the worker that had the lease, and every request in flight there waited for it.

The parent only supervises: it refuses a port in use before anything starts (exit code 10,
``PortInUse``), restarts a worker or the follower when it dies after it started, stops
(exit code 3) if one cannot start, and stops them all on SIGINT/SIGTERM.
A child whose parent disappears (kill -9) shuts itself down gracefully. Each child sets up
its logging from the settings (``serve`` puts its options in the environment) and writes
its metrics to the run's multiprocess directory; the parent marks a child's exit there.
"""

from __future__ import annotations

import errno
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess

import uvicorn

from domain.errors import InvalidValue, PortInUse
from infrastructure.observability.metrics import process_exited

log = logging.getLogger("convtrack.serve")
APP = "infrastructure.api.app:create_app_from_env"
STARTUP_FAILURE = 3
SERVING_AFTER = 5.0  # a worker that dies sooner than this after its start failed to start


def reuse_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT") and sys.platform.startswith("linux")


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """Bound, not yet listening: uvicorn listens on it once the app has started. A
    listening socket would join the port's group at once, and the kernel would queue
    new connections on it while the worker is still starting (opening its pool), so
    they waited for that worker instead of going to a ready one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def refuse_busy_port(host: str, port: int) -> None:
    """``PortInUse`` (exit 10) when anything listens on ``host:port`` (a second server would
    silently share it, or uvicorn would fail after the app started), ``InvalidValue`` (exit 2)
    when the address cannot be listened on at all; checked before any worker starts."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        with probe:
            probe.bind((host, port))
    except socket.gaierror as error:
        raise InvalidValue("CONVTRACK_API_HOST (--api-host)", f"{host!r} is not an address: {error.strerror}") from None
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from None
        raise InvalidValue(
            "CONVTRACK_API_HOST (--api-host)", f"cannot listen on {host}:{port}: {error.strerror}"
        ) from None


def watch_parent(parent: int, stop: Callable[[], None]) -> None:
    """Call ``stop`` once this process's parent is gone (the supervisor was killed)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        stop()

    threading.Thread(target=watch, daemon=True).start()


def serve_worker(host: str, port: int, parent: int, log_level: str) -> None:
    """One worker process: its own SO_REUSEPORT socket, one uvicorn server."""
    try:
        sock = reuse_port_socket(host, port)
    except OSError as error:  # taken since the supervisor's check
        busy = error.errno == errno.EADDRINUSE
        print(
            f"error: {PortInUse(host, port) if busy else f'cannot listen on {host}:{port}: {error.strerror}'}",
            file=sys.stderr,
        )
        sys.exit(PortInUse.exit_code if busy else STARTUP_FAILURE)
    # our access log replaces uvicorn's; our handler (set up by the app factory) formats its lines
    config = uvicorn.Config(APP, factory=True, log_level=log_level, access_log=False, log_config=None, backlog=2048)
    server = uvicorn.Server(config)

    def stop() -> None:
        server.should_exit = True

    watch_parent(parent, stop)
    server.run(sockets=[sock])


def follow_live_tables(parent: int, interval: float) -> None:
    """The follower process: applies new events to the live tables while the phase is
    cut_over (it checks the phase every second: cutover starts it, rollback stops it); an
    event it cannot apply is retried with a backoff, never skipped (``keep_following``)."""
    from infrastructure.observability.logs import configure_logging
    from infrastructure.projections.following import LiveFollower, PhaseWatch
    from infrastructure.settings import Settings
    from infrastructure.wiring import open_tracker

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    watch_parent(parent, stop.set)
    tracker = open_tracker(settings)
    follower = LiveFollower(tracker, interval=interval)
    watch = PhaseWatch(tracker, None, follower.phase_changed).start()
    stop.wait()
    watch.stop()
    follower.stop()


def run_workers(
    host: str,
    port: int,
    workers: int,
    log_level: str = "warning",
    poll_interval: float = 0.2,
    announce: Callable[[], None] | None = None,
) -> int:
    """Start ``workers`` processes and supervise them; returns the exit code. ``announce``
    runs once the port is known to be free (``serve``'s start-up line)."""
    refuse_busy_port(host, port)
    if announce is not None:
        announce()
    context = multiprocessing.get_context("spawn")
    stopping = threading.Event()

    os.environ["CONVTRACK_EMBEDDED_FOLLOWER"] = "false"  # inherited by the workers

    def start(follower: bool = False) -> tuple[BaseProcess, float]:
        if follower:
            process = context.Process(target=follow_live_tables, args=(os.getpid(), poll_interval), daemon=False)
        else:
            process = context.Process(target=serve_worker, args=(host, port, os.getpid(), log_level), daemon=False)
        process.start()
        return process, time.monotonic()

    def on_signal(_signum: int, _frame: object) -> None:
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    running = [start() for _ in range(workers)] + [start(follower=True)]
    code = 0
    while not stopping.wait(0.5):
        for index, (process, started) in enumerate(running):
            if process.is_alive():
                continue
            process_exited(process.pid)
            role = "follower" if index == workers else "worker"
            if process.exitcode == PortInUse.exit_code:  # it said so in one line
                code = PortInUse.exit_code
                stopping.set()
                break
            if time.monotonic() - started < SERVING_AFTER or process.exitcode == STARTUP_FAILURE:
                log.error("%s %s failed to start (exit code %s)", role, process.pid, process.exitcode)
                code = STARTUP_FAILURE
                stopping.set()
                break
            log.error("%s %s died (exit code %s); restarting", role, process.pid, process.exitcode)
            running[index] = start(follower=index == workers)
    stop_all([process for process, _ in running])
    return code


def stop_all(processes: list[BaseProcess]) -> None:
    """SIGTERM (graceful), then SIGKILL for a child still there after 30 s."""
    for process in processes:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    for process in processes:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
        process_exited(process.pid)
