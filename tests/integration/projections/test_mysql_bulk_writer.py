"""On MariaDB the runner writes with hand-rendered bulk statements. They must leave a
table exactly as SQLAlchemy's generic statements leave it: same rows, same bytes, same
exact decimals and milliseconds, for awkward values, for every kind of change, across
chunk boundaries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    select,
)

from domain.rows import RowChange
from infrastructure.projections.mysql_bulk import UPDATE_ROWS, MySQLBulkWriter
from infrastructure.projections.writer import BatchFold, write_fold
from infrastructure.row_types import ExactDecimal, JsonText, MillisecondDateTime

AWKWARD_TEXT = [
    'it\'s a "quote"\tand a tab\nand a newline — ünïcödé 🎉',
    "100% %s %d %(x)s {0} \\ backslash \\' \\\\",
    "\x00nul and \x1a ctrl-z",
    "",
    "x" * 5000,
]


def table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("id", String(191), primary_key=True),
        Column("label", String(191), nullable=True),
        Column("body", Text, nullable=True),
        Column("small", Integer, nullable=True),
        Column("big", BigInteger, nullable=True),
        Column("flag", Boolean, nullable=True),
        Column("at", MillisecondDateTime, nullable=True),
        Column("day", Date, nullable=True),
        Column("money", ExactDecimal(10, 2), nullable=True),
        Column("ratio", Float, nullable=True),
        Column("blob", LargeBinary, nullable=True),
        Column("doc", JsonText, nullable=True),
        mysql_charset="utf8mb4",
        mysql_collate="utf8mb4_unicode_ci",
    )


def row(i: int) -> dict[str, Any]:
    return {
        "id": f"row-{i:05d}",
        "label": AWKWARD_TEXT[i % 4],
        "body": AWKWARD_TEXT[i % len(AWKWARD_TEXT)] if i % 7 else None,
        "small": [-(2**31), 2**31 - 1, 0, i][i % 4],
        "big": [-(2**63), 2**63 - 1, None, i][i % 4],
        "flag": [True, False, None][i % 3],
        "at": [datetime(1000, 1, 1), datetime(2024, 2, 29, 23, 59, 59, 999000), None][i % 3],
        "day": [date(9999, 12, 31), None][i % 2],
        "money": [Decimal("-99999999.99"), Decimal("0.01"), Decimal("1234.50"), None][i % 4],
        "ratio": [0.1, -1.5e38, None][i % 3],
        "blob": [bytes(range(256)), b"", None][i % 3],
        "doc": [{"a": ["ü", 1, None]}, None, [1, 2.5, "x'\""]][i % 3],
    }


def batches(count: int) -> list[list[RowChange]]:
    """Inserts; then updates (of rows written by the earlier batch, of rows this batch
    inserts, of a row that does not exist), deletes, and a delete followed by a re-insert."""
    first = [RowChange.insert(row(i)) for i in range(count)]
    second: list[RowChange] = []
    for i in range(0, count, 2):
        second.append(RowChange.update(f"row-{i:05d}", {"label": AWKWARD_TEXT[(i + 1) % 4], "small": i + 1}))
    for i in range(1, count, 3):
        second.append(RowChange.update(f"row-{i:05d}", {"at": None, "money": Decimal("42.00"), "doc": {"k": i}}))
    second.append(RowChange.update("row-missing", {"label": "nobody"}))
    second += [RowChange.delete(f"row-{i:05d}") for i in range(0, count, 5)]
    second += [RowChange.insert(row(i) | {"label": "re-inserted"}) for i in range(0, count, 10)]
    second += [RowChange.insert(row(count + i)) for i in range(3)]
    second.append(RowChange.update(f"row-{count:05d}", {"body": "updated in the batch that inserted it"}))
    return [first, second]


def fold(changes: list[RowChange]) -> BatchFold:
    result = BatchFold()
    for change in changes:
        result.add(change._replace(values=dict(change.values)))  # each writer gets its own copy
    return result


def test_bulk_statements_leave_the_table_exactly_as_the_generic_writer_does(mariadb_url: str) -> None:
    engine = create_engine(mariadb_url)
    metadata = MetaData()
    generic, bulk = table(metadata, "generic_rows"), table(metadata, "bulk_rows")
    metadata.create_all(engine)
    writer = MySQLBulkWriter(bulk, engine.dialect)
    count = UPDATE_ROWS * 2 + 37  # several update chunks; inserts above 1 MiB of SQL
    for changes in batches(count):
        with engine.begin() as conn:
            write_fold(conn, generic, fold(changes))
        with engine.begin() as conn:
            writer.write(conn, fold(changes))
    with engine.connect() as conn:
        expected = conn.execute(select(generic).order_by(generic.c.id)).all()
        actual = conn.execute(select(bulk).order_by(bulk.c.id)).all()
    assert len(expected) == count + 3 - len(range(0, count, 5)) + len(range(0, count, 10))
    assert actual == expected
    by_id = {r.id: r for r in actual}
    assert by_id["row-00001"].money == Decimal("42.00")
    assert by_id["row-00002"].label == AWKWARD_TEXT[3] and by_id["row-00002"].small == 3
    assert by_id["row-00004"].blob == b""
    assert by_id["row-00003"].blob == bytes(range(256))
    assert by_id[f"row-{count:05d}"].body == "updated in the batch that inserted it"
    assert "row-missing" not in by_id
