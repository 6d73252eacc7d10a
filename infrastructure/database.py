"""Engines for the two supported databases, set up so that nothing is lost.

SQLite: WAL, ``synchronous=FULL``, foreign keys on, a generous busy timeout, and
``BEGIN IMMEDIATE`` for write transactions (so writers queue instead of failing).
MariaDB/MySQL through PyMySQL: utf8mb4, UTC session time zone, strict SQL mode (a value
that does not fit is an error, never a silent truncation) and READ COMMITTED.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pymysql.converters
from pymysql.constants import CLIENT, FIELD_TYPE
from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import URL, make_url

from domain.errors import OperationRefused

STRICT_SQL_MODE = (
    "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)
WRITE = "convtrack_write"


def is_sqlite(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


SUPPORTED_URLS = "sqlite:///path/to/file.sqlite3 or mysql+pymysql://user:password@host:3306/database"
MYSQL_BACKENDS = frozenset({"mysql", "mariadb"})


def checked_url(url: str) -> URL:
    """``url`` parsed, or ``ValueError`` saying what is wrong and what is allowed: only
    SQLite and MariaDB/MySQL through PyMySQL (``mysql://`` would load MySQLdb, which is not
    installed), with a numeric port."""
    if not url.strip():
        raise ValueError(f"is empty; allowed: {SUPPORTED_URLS}")
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise ValueError(f"cannot be parsed as a database URL; allowed: {SUPPORTED_URLS}") from None
    except ValueError:  # the port is not a number
        raise ValueError(f"has a port that is not a number; allowed: {SUPPORTED_URLS}") from None
    backend = parsed.get_backend_name()
    if backend in MYSQL_BACKENDS and parsed.get_driver_name() != "pymysql":
        raise ValueError(f"needs the PyMySQL driver: write {backend}+pymysql://… (the tracker does not use MySQLdb)")
    if backend not in MYSQL_BACKENDS and backend != "sqlite":
        raise ValueError(f"names an unsupported database ({backend}); allowed: {SUPPORTED_URLS}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ValueError(f"has port {parsed.port}, outside 1-65535")
    return parsed


def masked_url(url: str) -> str:
    """``url`` with its password as ``***``, even when it does not parse as a URL."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (exc.ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def make_engine(url: str, *, read_only: bool = False, pool_size: int = 20, ping_after_idle: float = 2.0) -> Engine:
    try:
        parsed = checked_url(url)
    except ValueError as error:
        raise ValueError(f"the database URL {masked_url(url)!r} {error}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, read_only=read_only)
    return _mysql_engine(url, read_only=read_only, pool_size=pool_size, ping_after_idle=ping_after_idle)


def _sqlite_engine(url: str, *, read_only: bool) -> Engine:
    parsed = make_url(url)
    if parsed.database and parsed.database != ":memory:" and not read_only:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
    if read_only and parsed.database and parsed.database != ":memory:":
        _existing_file_only(engine, Path(parsed.database))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        if not read_only:  # switching the journal mode writes the file
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _existing_file_only(engine: Engine, path: Path) -> None:
    """A reader opens the file as a URI with ``mode=rw``: a missing file is an error
    ("unable to open database file") instead of a new empty database."""

    @event.listens_for(engine, "do_connect")
    def _open_existing(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        cargs[0] = f"{path.absolute().as_uri()}?mode=rw"
        cparams["uri"] = True


def _conversions() -> dict[Any, Any]:
    """PyMySQL's conversions, with DATETIME and TIMESTAMP parsed by the C-implemented
    ``datetime.fromisoformat`` instead of PyMySQL's regular expression: reading legacy
    rows spent 12% of the bootstrap there."""
    conversions = dict(pymysql.converters.conversions)
    conversions[FIELD_TYPE.DATETIME] = datetime_from_server
    conversions[FIELD_TYPE.TIMESTAMP] = datetime_from_server
    return conversions


def datetime_from_server(value: str | bytes) -> datetime | str | None:
    """What ``pymysql.converters.convert_datetime`` returns, faster: the server sends
    ``YYYY-MM-DD hh:mm:ss[.fraction]``; anything else (a zero date) goes to PyMySQL's
    converter, which returns it unchanged."""
    text = value.decode("ascii", "replace") if isinstance(value, bytes | bytearray) else value
    if len(text) >= 19 and text[10] == " " and text[4] == "-":
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    result: datetime | str | None = pymysql.converters.convert_datetime(value)
    return result


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Pessimistic disconnect handling for connections that sat idle in the pool: one
    that was returned more than ``idle_seconds`` ago is pinged at checkout, and a dead
    one is replaced (SQLAlchemy's documented checkout-event recipe). A connection in
    constant use is not pinged (``pool_pre_ping`` cost a round trip per checkout under
    load); if the server restarts, such a connection fails one statement, the pool is
    invalidated, and the request answers 503, to be retried with its Idempotency-Key."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < idle_seconds:
            return
        try:
            dbapi_connection.ping(reconnect=False)
        except Exception as error:
            raise exc.DisconnectionError(f"an idle pooled connection was dead: {error}") from error


def _mysql_engine(url: str, *, read_only: bool, pool_size: int, ping_after_idle: float, **options: Any) -> Engine:
    parsed = make_url(url)
    query = dict(parsed.query)
    query.setdefault("charset", "utf8mb4")
    init = f"SET time_zone='+00:00', sql_mode='{STRICT_SQL_MODE}'"
    connect_args = {"init_command": init, "autocommit": False, "conv": _conversions()}
    connect_args.update(options.pop("connect_args", {}))
    settings: dict[str, Any] = {"isolation_level": "READ COMMITTED", **options}
    engine = create_engine(
        parsed.set(query=query),
        pool_recycle=3600,
        pool_size=pool_size,
        max_overflow=pool_size,  # connections are opened lazily; an API worker runs up to 40 requests at once
        connect_args=connect_args,
        **settings,
    )
    _ping_idle_connections(engine, ping_after_idle)
    if read_only:

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")

    return engine


def command_engines(engine: Engine) -> tuple[Engine, Engine] | None:
    """MariaDB/MySQL: two small engines beside ``engine`` for the event store's command
    path, each saving round trips (``None`` on SQLite, where everything stays on ``engine``).

    - *reads*: autocommit sessions for loading aggregates. Under READ COMMITTED every
      statement reads the latest commits anyway, so a transaction around a command's reads
      added nothing but the ROLLBACK the pool sent when the connection came back.
    - *commits*: one connection for the group committer, allowed several statements per
      round trip (``CLIENT.MULTI_STATEMENTS``), so a group holds the writer lock for one
      round trip instead of six. Only the recorder's own statements run there, with every
      value escaped by the driver. It ends every transaction itself (no reset on return).
    """
    if is_sqlite(engine):
        return None
    url = engine.url.render_as_string(hide_password=False)
    reads = _mysql_engine(
        url,
        read_only=False,
        pool_size=10,  # up to 20: a command holds its read connection only while it loads
        ping_after_idle=2.0,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        connect_args={"autocommit": True},
    )
    commits = _mysql_engine(
        url,
        read_only=False,
        pool_size=1,
        ping_after_idle=2.0,
        pool_reset_on_return=None,
        connect_args={"client_flag": CLIENT.MULTI_STATEMENTS | CLIENT.FOUND_ROWS},
    )
    return reads, commits


def warm_pool(engine: Engine, connections: int) -> None:
    """Open ``connections`` pooled connections now, so that a server's first requests do
    not each pay for a connect (which stalled the first seconds of load)."""
    if is_sqlite(engine):
        return
    with ExitStack() as stack:
        for _ in range(connections):
            stack.enter_context(engine.connect())


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that commits on success and rolls back on
    any error. On SQLite it takes the write lock up front (BEGIN IMMEDIATE)."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def schema_lock(engine: Engine, name: str = "convtrack_schema", timeout: int = 120) -> Iterator[None]:
    """Serialises schema changes between processes (several API workers starting at once).

    MySQL DDL commits implicitly, so row locks cannot cover it: a named lock (GET_LOCK)
    held by one session does. On SQLite, DDL runs inside BEGIN IMMEDIATE, which already
    serialises writers, so nothing more is needed."""
    if is_sqlite(engine):
        yield
        return
    with engine.connect() as conn:
        got = conn.exec_driver_sql(f"SELECT GET_LOCK('{name}', {int(timeout)})").scalar()
        if got != 1:
            raise OperationRefused(
                f"could not take the schema lock {name!r} within {timeout} s: another process is changing "
                "the tracker's tables (a schema upgrade?); try again when it has finished"
            )
        try:
            yield
        finally:
            conn.exec_driver_sql(f"SELECT RELEASE_LOCK('{name}')")


def database_identity(url: str | URL) -> tuple[str, ...]:
    """Which database a URL names, for comparing two URLs: the backend family, host, port
    (MariaDB/MySQL's default filled in), unix socket and database name; for SQLite the
    file's resolved path. The driver, credentials and options (``?charset=utf8mb4``) do not
    count: an engine's URL and the configured one name the same database."""
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ":memory:"
        return ("sqlite", database if database == ":memory:" else str(Path(database).resolve()))
    family = "mysql" if backend in {"mysql", "mariadb"} else backend
    socket = str(parsed.query.get("unix_socket") or "")
    return (family, (parsed.host or "localhost").lower(), str(parsed.port or 3306), socket, parsed.database or "")


def database_name(url: str | URL) -> str:
    """The database's name as an operator types it: MariaDB/MySQL's database, SQLite's file name."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.get_backend_name() == "sqlite":
        return Path(parsed.database or ":memory:").name
    return parsed.database or ""
