"""A throw-away MariaDB server: Debian's mariadbd in a temporary data directory, on a
free loopback port. Used by the test session and by the benchmarks; never a mock."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pymysql

USER, PASSWORD = "convtrack", "convtrack-test"


def find_mariadbd() -> str | None:
    for candidate in ("mariadbd", "/usr/sbin/mariadbd", "mysqld", "/usr/sbin/mysqld"):
        found = shutil.which(candidate) or (candidate if os.path.exists(candidate) else None)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MariaDBServer:
    def __init__(self, *, buffer_pool: str = "256M", options: tuple[str, ...] = ()) -> None:
        self.binary = find_mariadbd()
        if self.binary is None:
            raise RuntimeError("mariadbd not found: apt-get install mariadb-server (.ci/run does it)")
        self.base = Path(tempfile.mkdtemp(prefix="convtrack-mariadb-"))
        self.datadir = self.base / "data"
        self.socket = self.base / "mysqld.sock"
        self.port = free_port()
        self.buffer_pool = buffer_pool
        self.options = options  # extra mariadbd options (benchmark experiments)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> MariaDBServer:
        install = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if install is None:
            raise RuntimeError("mariadb-install-db not found")
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(
            [
                install,
                f"--datadir={self.datadir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                *user,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        log = open(self.base / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(
            [
                self.binary,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                f"--innodb-buffer-pool-size={self.buffer_pool}",
                "--innodb-log-file-size=256M",
                "--max-connections=500",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                f"--pid-file={self.base / 'mysqld.pid'}",
                *self.options,
                *user,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = pymysql.connect(unix_socket=str(self.socket), user="root")
                break
            except pymysql.err.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"MariaDB did not start: {(self.base / 'server.log').read_text()[-2000:]}"
                    ) from None
                time.sleep(0.2)
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
            cursor.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'%' WITH GRANT OPTION")
        conn.close()
        return self

    def url(self, database: str) -> str:
        return f"mysql+pymysql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with self.root() as conn, conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        return name

    def drop_database(self, name: str) -> None:
        """Drops the database and its siblings (``<name>_ct_*``: staging, retired, legacy)."""
        with self.root() as conn, conn.cursor() as cursor:
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            cursor.execute("SHOW DATABASES")
            siblings = [row[0] for row in cursor.fetchall() if str(row[0]).startswith(f"{name}_ct_")]
            for database in [*siblings, name]:
                cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")

    def root(self) -> pymysql.connections.Connection:
        return pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.base, ignore_errors=True)
