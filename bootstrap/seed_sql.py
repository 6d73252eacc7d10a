"""The seed events and their staging rows as MariaDB/MySQL expressions, for a bootstrap
that runs in the server (legacy and tracker in the same database).

``SeedSql`` writes, for one range of users, the statements that insert
- each ``call_queue`` row's ``CallQueueEntry.Seeded`` event and each ``user_call_scores``
  row's ``UserCallScore.Seeded`` event: the same state the domain would encode (the
  library's JSON: every legacy column, datetimes and decimals as its typed objects, text
  through ``JSON_QUOTE``), aggregate ids by uuid5 (SHA-1) as ``domain.identity`` makes
  them, the current queue type by the documented rule (highest priority_score, then
  oldest created_at, then smallest id by code point), computed after the callback
  conversion, and contributing agents from ``call_sessions`` in order of first call;
- the staging rows those events project to (``Seeded.full_row``).

The test suite decodes the events with the library and compares them with the domain's
own, and compares the staging rows with the Python projection of those events, on data
with unicode, quotes, tabs, NULLs and extreme integers. Column types without an exact
expression here (FLOAT, JSON, SET, BIT, TIME, ...) make ``unsupported`` name them, and the
bootstrap then takes the Python path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from eventsourcing.utils import get_topic
from sqlalchemy import TextClause, text

from bootstrap.legacy_source import MIGRATED_TABLES, LegacySource
from bootstrap.sql_text import quote_name, sql_int, sql_string
from domain.call_queue_entry import CALLBACK_CONVERTS_TO, LEGACY_CALLBACK_ID_PREFIX, SCHEDULE_COLUMNS, CallQueueEntry
from domain.identity import NAMESPACE, NEW_SCORE_ROW_NAME_PREFIX, QUEUE_ENTRY_NAME_PREFIX, SCORE_NAME_PREFIX
from domain.user_call_score import CURRENT_QUEUE_TYPE_ORDER, UserCallScore
from domain.values import EntryStatus, QueueType, row_time
from infrastructure.projections.column_types import base_type

QUEUE_TOPIC = get_topic(CallQueueEntry.Seeded)
SCORE_TOPIC = get_topic(UserCallScore.Seeded)
REGISTERED_TOPIC = get_topic(UserCallScore.Registered)

_INTEGERS = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "year"}
_TEXTS = {"varchar", "char", "character varying", "nvarchar", "nchar", "text", "tinytext", "mediumtext"}
_TEXTS |= {"longtext", "enum"}
_BYTES = {"blob", "tinyblob", "mediumblob", "longblob", "binary", "varbinary"}
_DATETIMES = {"datetime", "timestamp"}
RANGE_OF_SCORES = "WHERE s.`user_id` BETWEEN %s AND %s"
TYPES, ENTRIES, AGENTS = "convtrack_seed_types", "convtrack_seed_entries", "convtrack_seed_agents"
ORPHANS = "convtrack_seed_orphans"


@dataclass(frozen=True)
class LegacyColumn:
    name: str
    declared: str

    @property
    def kind(self) -> str | None:
        base, size = base_type(self.declared)
        if (base == "tinyint" and size == "1") or base in {"bool", "boolean"}:
            return "bool"
        if base in _INTEGERS:
            return "int"
        if base in _TEXTS:
            return "text"
        if base in _DATETIMES:
            return "datetime"
        if base == "date":
            return "date"
        if base in {"decimal", "numeric", "dec"}:
            return "decimal"
        if base in _BYTES:
            return "bytes"
        return None


def legacy_columns(source: LegacySource) -> dict[str, list[LegacyColumn]]:
    return {name: [LegacyColumn(c["name"], c["type"]) for c in source.columns(name)] for name in MIGRATED_TABLES}


def unsupported(columns: dict[str, Sequence[LegacyColumn]]) -> list[str]:
    """``table.column (type)`` for every column without an exact server expression."""
    return [f"{table}.{c.name} ({c.declared})" for table, cols in columns.items() for c in cols if c.kind is None]


def is_callback(alias: str) -> str:
    """True for a legacy ``callback`` entry (exactly that string: bytes, not the _ci collation)."""
    return f"BINARY {alias}.`queue_type` = {sql_string(QueueType.LEGACY_CALLBACK)}"


def converted_type(alias: str) -> str:
    """The row's queue type after the conversion (``domain.call_queue_entry.converted_queue_type``)."""
    return f"IF({is_callback(alias)}, {sql_string(CALLBACK_CONVERTS_TO)}, {alias}.`queue_type`)"


def callback_id(alias: str) -> str:
    """A legacy callback entry's callback id (``domain.call_queue_entry.legacy_callback_id``)."""
    return f"CONCAT({sql_string(LEGACY_CALLBACK_ID_PREFIX)}, {alias}.`id`)"


def scheduled_for(alias: str, kinds: Mapping[str, str | None]) -> str:
    """The first schedule column holding a datetime (``domain.call_queue_entry.scheduled_for``)."""
    usable = [f"{alias}.{quote_name(n)}" for n in SCHEDULE_COLUMNS if kinds.get(n, None) == "datetime"]
    if not usable:
        return "NULL"
    return usable[0] if len(usable) == 1 else f"COALESCE({', '.join(usable)})"


def current_type_order(alias: str) -> str:
    """``CURRENT_QUEUE_TYPE_ORDER`` as an ORDER BY list: text by its bytes (code point order)."""
    keys = []
    for key in CURRENT_QUEUE_TYPE_ORDER:
        column = f"{alias}.{quote_name(key.column)}"
        keys.append(
            (f"CAST({column} AS BINARY)" if key.kind == "text" else column) + (" DESC" if key.descending else "")
        )
    return ", ".join(keys)


def current_types() -> str:
    """(user_id, convtrack_type) per user with a pending entry, by the domain's rule
    (``domain.user_call_score.current_queue_type``): the first pending entry in
    ``CURRENT_QUEUE_TYPE_ORDER``, its type after the callback conversion."""
    pending = sql_string(EntryStatus.PENDING)
    return (
        f"SELECT c.`user_id`, c.convtrack_type FROM (SELECT q.`user_id`, {converted_type('q')} AS convtrack_type, "
        f"ROW_NUMBER() OVER (PARTITION BY q.`user_id` ORDER BY {current_type_order('q')}) AS convtrack_rank "
        f"FROM `call_queue` q WHERE BINARY q.`status` = {pending}) c WHERE c.convtrack_rank = 1"
    )


def uuid5_of(prefix: str, key: str) -> str:
    """``uuid5_hash`` of one of the domain's names (``domain.identity``): prefix and key."""
    return uuid5_hash(f"CONCAT({sql_string(prefix)}, {key})")


def _typed(name: str, data: str) -> str:
    return f"""CONCAT('{{"_type_":"{name}","_data_":"', {data}, '"}}')"""


def json_of(expression: str, kind: str) -> str:
    """The library's JSON for one value (``null`` for NULL)."""
    if kind == "bool":
        value = f"IF({expression}, 'true', 'false')"
    elif kind == "int":
        value = f"CAST({expression} AS CHAR)"
    elif kind == "text":
        value = f"JSON_QUOTE(CONVERT({expression} USING utf8mb4))"
    elif kind == "datetime":
        value = _typed("datetime_iso", f"DATE_FORMAT({expression}, '%Y-%m-%dT%H:%i:%s.%f')")
    elif kind == "date":
        value = _typed("date_iso", f"DATE_FORMAT({expression}, '%Y-%m-%d')")
    elif kind == "decimal":
        value = _typed("decimal_str", f"CAST({expression} AS CHAR)")
    elif kind == "bytes":
        value = _typed("bytes_b64", f"REPLACE(TO_BASE64({expression}), '\\n', '')")
    else:
        raise ValueError(f"no JSON expression for {kind!r}")
    return f"IF({expression} IS NULL, 'null', {value})"


def json_object(fields: Sequence[tuple[str, str]]) -> str:
    """``{"k":v,...}`` from (key, JSON expression) pairs; keys are column names, quoted here."""
    parts: list[str] = []
    for index, (key, expression) in enumerate(fields):
        opener = "{" if index == 0 else ","
        parts.append(sql_string(opener + _json_key(key) + ":"))
        parts.append(expression)
    parts.append("'}'")
    return "CONCAT(" + ", ".join(parts) + ")"


def _json_key(key: str) -> str:
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    if any(ord(ch) < 0x20 for ch in escaped):
        raise ValueError(f"column name {key!r} needs JSON escapes")
    return f'"{escaped}"'


def uuid5_hash(name_expression: str) -> str:
    """SHA-1 of the namespace and the name (the name's UTF-8 bytes): uuid5 before its
    version and variant bits are set (see ``uuid5_bytes``)."""
    return f"UNHEX(SHA1(CONCAT(UNHEX('{NAMESPACE.hex}'), CAST({name_expression} AS BINARY))))"


def uuid5_bytes(hashed: str) -> str:
    """The 16 bytes of ``uuid.uuid5``: the hash's first 16, version 5, RFC 4122 variant."""
    return (
        f"CONCAT(SUBSTR({hashed}, 1, 6), CHAR((ASCII(SUBSTR({hashed}, 7, 1)) & 15) | 80), "
        f"SUBSTR({hashed}, 8, 1), CHAR((ASCII(SUBSTR({hashed}, 9, 1)) & 63) | 128), SUBSTR({hashed}, 10, 7))"
    )


def _iso(moment: datetime) -> str:
    return _typed_constant("datetime_iso", moment.isoformat())


def _typed_constant(name: str, data: str) -> str:
    return '{"_type_":"' + name + '","_data_":"' + data + '"}'


class SeedSql:
    """Statements for one bootstrap: legacy tables in ``legacy`` (a database name or None
    for the connection's), staging tables by their qualified names."""

    def __init__(
        self,
        columns: dict[str, Sequence[LegacyColumn]],
        *,
        bootstrap_time: datetime,
        staging_scores: str,
        staging_queue: str,
        events_table: str,
    ) -> None:
        self.scores = list(columns["user_call_scores"])
        self.queue = list(columns["call_queue"])
        self.staging_scores = staging_scores
        self.staging_queue = staging_queue
        self.events = events_table
        self.queue_kinds = {c.name: c.kind for c in self.queue}
        self.has_reason = "queue_reason" in self.queue_kinds
        stamp = bootstrap_time if bootstrap_time.tzinfo else bootstrap_time.replace(tzinfo=UTC)
        self.timestamp = _iso(stamp.astimezone(UTC))  # every seed event's timestamp: the bootstrap time
        self.queue_check = row_time(bootstrap_time)
        self.queue_check_json = _iso(self.queue_check)

    # ----------------------------------------------------------------- shared parts

    def _state_opening(self, aggregate: type, first_field: str) -> str:
        """``CONCAT('{"timestamp":<the bootstrap time>,"originator_topic":<topic>,"<first_field>":'``:
        the library's JSON for a created event, up to its first field's value."""
        topic = f',"originator_topic":"{get_topic(aggregate)}","{first_field}":'
        return "CONCAT('{\"timestamp\":', " + sql_string(self.timestamp) + ", " + sql_string(topic) + ", "

    def _scheduled(self, alias: str) -> str:
        return scheduled_for(alias, self.queue_kinds)

    def _reason(self, alias: str) -> str:
        return f"{alias}.`queue_reason`" if self.has_reason else "NULL"

    def _row_json(self, columns: Sequence[LegacyColumn], alias: str) -> str:
        return json_object([(c.name, json_of(f"{alias}.{quote_name(c.name)}", str(c.kind))) for c in columns])

    @staticmethod
    def _queue_rows(scored: bool) -> str:
        """FROM/WHERE of the range's queue rows (alias ``q``): those of users with a score
        row, or those of users without one (listed in the orphans work table)."""
        if scored:  # user_id is unique in user_call_scores: one score row per queue row's user
            return (
                "FROM `user_call_scores` s0 JOIN `call_queue` q ON q.`user_id` = s0.`user_id` "
                "WHERE s0.`user_id` BETWEEN %s AND %s"
            )
        return f"FROM {ORPHANS} o JOIN `call_queue` q ON q.`user_id` = o.`user_id` WHERE o.`user_id` BETWEEN %s AND %s"

    @staticmethod
    def next_range(scored: bool, after: int | None, size: int) -> TextClause:
        """The next ``size`` users with a score row (``scored``), or with queue rows and no
        score row, after user ``after``: (first, last, count)."""
        table = "`user_call_scores`" if scored else ORPHANS
        where = "" if after is None else "WHERE `user_id` > :after "
        statement = text(
            f"SELECT MIN(`user_id`), MAX(`user_id`), COUNT(*) FROM (SELECT `user_id` FROM {table} "
            f"{where}ORDER BY `user_id` LIMIT :size) r"
        )
        return statement.bindparams(size=size) if after is None else statement.bindparams(after=after, size=size)

    @staticmethod
    def users_in_range(scored: bool, first: int, last: int) -> TextClause:
        table = "`user_call_scores`" if scored else ORPHANS
        statement = text(f"SELECT `user_id` FROM {table} WHERE `user_id` BETWEEN :first AND :last ORDER BY `user_id`")
        return statement.bindparams(first=first, last=last)

    # ----------------------------------------------------------------- call_queue

    def queue_events(self, scored: bool) -> str:
        """Insert the range's queue-entry seed events. Ids come from the events table's
        AUTO_INCREMENT: the caller holds the writer lock, so they are consecutive and
        above every stored id (there may be a gap before them, which readers allow)."""
        state = (
            self._state_opening(CallQueueEntry, "row")
            + self._row_json(self.queue, "q")
            + ", ',\"queue_type\":', JSON_QUOTE(CONVERT("
            + converted_type("q")
            + " USING utf8mb4)), ',\"callback_id\":', IF("
            + is_callback("q")
            + f", JSON_QUOTE(CONVERT({callback_id('q')} USING utf8mb4)), 'null')"
            + ", ',\"callback_scheduled_for\":', IF("
            + is_callback("q")
            + ", "
            + json_of(self._scheduled("q"), "datetime")
            + ", 'null'), ',\"callback_reason\":', IF("
            + is_callback("q")
            + ", "
            + (json_of(self._reason("q"), "text") if self.has_reason else "'null'")
            + ", 'null'), '}')"
        )
        return (
            f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
            f"SELECT {uuid5_bytes('q.convtrack_h')}, 1, {sql_string(QUEUE_TOPIC)}, {state} "
            f"FROM (SELECT q.*, {uuid5_of(QUEUE_ENTRY_NAME_PREFIX, 'q.`id`')} AS convtrack_h "
            f"{self._queue_rows(scored)}) q"
        )

    def queue_staging(self, scored: bool) -> str:
        """Insert the staging rows of the range's queue entries (``Seeded.full_row``)."""
        legacy = [c.name for c in self.queue if c.name not in {"queue_type"}]
        targets = [*legacy, "queue_type", "callback_id", "callback_scheduled_for", "callback_reason"]
        values = [f"q.{quote_name(n)}" for n in legacy] + [
            converted_type("q"),
            f"IF({is_callback('q')}, {callback_id('q')}, NULL)",
            f"IF({is_callback('q')}, {self._scheduled('q')}, NULL)",
            f"IF({is_callback('q')}, {self._reason('q')}, NULL)",
        ]
        return (
            f"INSERT INTO {self.staging_queue} ({', '.join(map(quote_name, targets))}) "
            f"SELECT {', '.join(values)} {self._queue_rows(scored)}"
        )

    # ----------------------------------------------------------------- user_call_scores

    def user_tables(self, with_sessions: bool) -> list[list[str]]:
        """Statements that fold, in one pass over each legacy table, what every user's score
        event needs from the other tables: the current queue type (after the callback
        conversion, by the rule), the queue entry ids (JSON, in id order) and the
        contributing agents (JSON, in order of first call); and the users with queue rows
        but no score row. Work tables in the tracker's database, read by both of the
        seeder's connections; a rerun after a kill builds them again (after
        ``drop_user_tables``, which also removes them at the end). Two lists: the call_queue
        folds and the call_sessions fold, independent, for two connections at once."""
        from_queue = [
            f"CREATE TABLE {TYPES} (`user_id` BIGINT PRIMARY KEY, convtrack_type LONGTEXT) {current_types()}",
            f"CREATE TABLE {ENTRIES} (`user_id` BIGINT PRIMARY KEY, convtrack_ids LONGTEXT) "
            "SELECT q.`user_id`, CONCAT('[', GROUP_CONCAT(JSON_QUOTE(CONVERT(q.`id` USING utf8mb4)) "
            "ORDER BY q.`id` SEPARATOR ','), ']') AS convtrack_ids FROM `call_queue` q GROUP BY q.`user_id`",
            f"CREATE TABLE {ORPHANS} (`user_id` BIGINT PRIMARY KEY) SELECT DISTINCT q.`user_id` FROM `call_queue` q "
            "WHERE NOT EXISTS (SELECT 1 FROM `user_call_scores` s0 WHERE s0.`user_id` = q.`user_id`)",
        ]
        from_sessions = [f"CREATE TABLE {AGENTS} (`user_id` BIGINT PRIMARY KEY, convtrack_agents LONGTEXT)"]
        if with_sessions:
            from_sessions.append(
                f"INSERT INTO {AGENTS} SELECT a.`user_id`, CONCAT('[', GROUP_CONCAT(a.`agent_id` "
                "ORDER BY a.convtrack_first, a.`agent_id` SEPARATOR ','), ']') FROM (SELECT cs.`user_id`, "
                "cs.`agent_id`, MIN(cs.`started_at`) AS convtrack_first FROM `call_sessions` cs "
                "GROUP BY cs.`user_id`, cs.`agent_id`) a GROUP BY a.`user_id`"
            )
        return [from_queue, from_sessions]

    @staticmethod
    def drop_user_tables() -> str:
        return f"DROP TABLE IF EXISTS {TYPES}, {ENTRIES}, {AGENTS}, {ORPHANS}"

    def score_events(self) -> str:
        created = next((c for c in self.scores if c.name == "created_at"), None)
        reset = json_of("s.`created_at`", str(created.kind)) if created else "'null'"
        agents = "IFNULL(ag.convtrack_agents, '[]')"
        state = (
            self._state_opening(UserCallScore, "row")
            + self._row_json(self.scores, "s")
            + ', \',"is_active":true,"current_queue_type":\', '
            + json_of("cq.convtrack_type", "text")
            + ", ',\"last_reset_date\":', "
            + reset
            + ", ',\"last_queue_check\":', "
            + sql_string(self.queue_check_json)
            + ", ',\"contributing_agents\":', "
            + agents
            + ", ',\"queue_entry_ids\":', IFNULL(qi.convtrack_ids, '[]'), '}')"
        )
        hashed = uuid5_of(SCORE_NAME_PREFIX, "s.`user_id`")
        return (
            f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
            f"SELECT {uuid5_bytes('s.convtrack_h')}, 1, {sql_string(SCORE_TOPIC)}, {state} "
            f"FROM (SELECT s.*, {hashed} AS convtrack_h FROM `user_call_scores` s {RANGE_OF_SCORES}) s "
            f"LEFT JOIN {TYPES} cq ON cq.`user_id` = s.`user_id` LEFT JOIN {ENTRIES} qi ON qi.`user_id` = s.`user_id` "
            f"LEFT JOIN {AGENTS} ag ON ag.`user_id` = s.`user_id`"
        )

    def registered_events(self) -> str:
        """``UserCallScore.Registered`` for users with queue rows and no score row (the
        domain's ``register_orphan``): no row of their own until their first call."""
        row_id = "LOWER(HEX(" + uuid5_bytes("o.convtrack_h") + "))"
        state = (
            self._state_opening(UserCallScore, "user_id")
            + 'CAST(o.`user_id` AS CHAR), \',"row_id":"\', '
            + row_id
            + ', \'","current_queue_type":\', '
            + json_of("cq.convtrack_type", "text")
            + ", ',\"contributing_agents\":', IFNULL(ag.convtrack_agents, '[]'), "
            + "',\"queue_entry_ids\":', IFNULL(qi.convtrack_ids, '[]'), '}')"
        )
        identity = uuid5_of(SCORE_NAME_PREFIX, "u.`user_id`")
        row_hash = uuid5_of(NEW_SCORE_ROW_NAME_PREFIX, "u.`user_id`")
        orphans = f"SELECT `user_id` FROM {ORPHANS} WHERE `user_id` BETWEEN %s AND %s"
        return (
            f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) "
            f"SELECT {uuid5_bytes('o.convtrack_id')}, 1, {sql_string(REGISTERED_TOPIC)}, {state} "
            f"FROM (SELECT u.`user_id`, {identity} AS convtrack_id, {row_hash} AS convtrack_h FROM ({orphans}) u) o "
            f"LEFT JOIN {TYPES} cq ON cq.`user_id` = o.`user_id` LEFT JOIN {ENTRIES} qi ON qi.`user_id` = o.`user_id` "
            f"LEFT JOIN {AGENTS} ag ON ag.`user_id` = o.`user_id`"
        )

    def score_staging(self) -> str:
        legacy = [c.name for c in self.scores]
        targets = [*legacy, "is_active", "current_queue_type", "last_reset_date", "last_queue_check"]
        has_created = any(c.name == "created_at" for c in self.scores)
        values = [f"s.{quote_name(n)}" for n in legacy] + [
            "1",
            "cq.convtrack_type",
            "s.`created_at`" if has_created else "NULL",
            sql_string(self.queue_check.isoformat(sep=" ", timespec="milliseconds")),
        ]
        return (
            f"INSERT INTO {self.staging_scores} ({', '.join(map(quote_name, targets))}) SELECT {', '.join(values)} "
            f"FROM `user_call_scores` s LEFT JOIN {TYPES} cq ON cq.`user_id` = s.`user_id` {RANGE_OF_SCORES}"
        )

    @staticmethod
    def bind(statement: str, first: int, last: int) -> str:
        """The statement for users ``first`` to ``last`` (integers, inlined: the statements
        hold ``%`` in DATE_FORMAT and run without driver parameters)."""
        return statement.replace("BETWEEN %s AND %s", f"BETWEEN {sql_int(first)} AND {sql_int(last)}")
