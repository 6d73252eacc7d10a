"""The app's own ORM on the tables convtrack cut over: a Prisma 7 client generated from
docs/schema.prisma (the file the app's team gets) with the MariaDB driver adapter reads
the queue by type and priority, a score by a BigInt user id beyond JavaScript's safe
integers, counts and sums, a conversion with its agent, exact decimals and JSON; then
its direct writes are reported by ``convtrack verify --live`` and kept by ``convtrack
rebuild`` until it is told to discard them."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bootstrap.sample_data import EXTRA_COLUMNS
from domain import commands
from domain.lifecycle import Phase
from infrastructure.projections.rebuild import open_live_tables
from infrastructure.projections.runner import ProjectionRunner
from infrastructure.settings import Settings
from infrastructure.wiring import open_tracker
from tests.clients import node_project
from tests.clients.prisma_ddl import described, existing
from tests.clients.sql import connection, one_row
from tests.support.lifecycle import bring_to
from tests.support.processes import run_convtrack

pytestmark = pytest.mark.slow

DOCS_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schema.prisma"
BIGINT_MAX = 2**63 - 1  # the generated legacy data's first users sit at the BIGINT limit
PRISMA_CONVERSION = "prisma-conv-1"
DMMF_GENERATOR = """
generator dmmf {
  provider = "node dmmf-generator.mjs"
  output   = "./generated/dmmf"
}
"""


@pytest.fixture(scope="module")
def prisma_project() -> Path:
    """tests/clients/prisma with a client generated from docs/schema.prisma, compiled, and
    Prisma's reading of the schema in generated/dmmf/datamodel.json."""
    project = node_project.install("prisma")
    schema = DOCS_SCHEMA.read_text(encoding="utf-8") + DMMF_GENERATOR  # the copy only
    (project / "schema.prisma").write_text(schema, encoding="utf-8")
    no_engine = {"PRISMA_SCHEMA_ENGINE_BINARY": str(project / "no-schema-engine")}  # generate never runs it
    prisma = node_project.bin_of(project, "prisma")
    node_project.run(project, prisma, "generate", "--schema", "schema.prisma", env=no_engine)
    node_project.run(project, node_project.bin_of(project, "tsc"), "-p", ".")
    return project


def record_through_the_tracker(database_url: str) -> str:
    """What agents' services record through the API after cutover: a call on a BIGINT user
    and a conversion with money and JSON; projected onto the live tables. Returns the
    conversion's id."""
    tracker = open_tracker(Settings(database_url=database_url))
    try:
        tracker.execute(commands.RecordCallAttempt(user_id=BIGINT_MAX - 2, agent_id=4, outcome="answered"))
        recorded = tracker.execute(
            commands.RecordConversion(
                user_id=10005,
                conversion_type="signed",
                primary_agent_id=7,
                documents_received=["passport", {"payslip": "März", "pages": 3}],
                requirements_met={"kyc": True, "note": "tab\tand 'quotes'"},
                claim_value=Decimal("1250.05"),
                estimated_commission=Decimal("187.50"),
                signature_obtained=True,
            )
        )
        ProjectionRunner(tracker, open_live_tables(tracker)).run_once()
        return str(recorded.ids["conversion_id"])
    finally:
        tracker.sql_recorder.close()


def facts_of(database_url: str, conversion_id: str) -> dict[str, Any]:
    """What the live tables hold, read with SQL: what the Prisma test must read back."""
    url = make_url(database_url)
    with connection(database_url) as conn:
        one = lambda sql, **params: conn.execute(text(sql), params).one()  # noqa: E731
        pending = (
            conn.execute(
                text(
                    "SELECT id FROM call_queue WHERE queue_type = 'unsigned_users' AND status = 'pending' "
                    "ORDER BY priority_score DESC, created_at, id"
                )
            )
            .scalars()
            .all()
        )
        score = one(
            "SELECT current_score, total_attempts, last_call_outcome FROM user_call_scores WHERE user_id = :u",
            u=BIGINT_MAX - 2,
        )
        totals = one("SELECT COUNT(*), SUM(current_score) FROM user_call_scores")
        by_type = conn.execute(
            text("SELECT queue_type, COUNT(*) FROM call_queue WHERE status = 'pending' GROUP BY 1")
        ).all()
        conversion = one(
            "SELECT c.user_id, a.name, c.claim_value, c.estimated_commission, c.documents_received, "
            "c.requirements_met FROM conversions c JOIN agents a ON a.id = c.primary_agent_id WHERE c.id = :i",
            i=conversion_id,
        )
        claim_sum = one("SELECT SUM(claim_value) FROM conversions")[0]
        sessions = one("SELECT COUNT(*) FROM call_sessions WHERE agent_id = 1")[0]
        entry = one(
            "SELECT id FROM call_queue WHERE status = 'pending' AND assigned_to_agent_id IS NULL ORDER BY id LIMIT 1"
        )[0]
    return {
        "database": {
            "host": url.host, "port": url.port, "user": url.username,
            "password": url.password, "database": url.database,
        },  # fmt: skip
        "queue": {"type": "unsigned_users", "pending_ids": list(pending)},
        "score": {
            "user_id": str(BIGINT_MAX - 2),
            "current_score": score[0],
            "total_attempts": score[1],
            "last_call_outcome": score[2],
        },
        "totals": {
            "scores": totals[0],
            "score_sum": int(totals[1]),
            "pending_by_type": {queue_type: n for queue_type, n in by_type},
            "claim_value_sum": str(claim_sum),
            "sessions_of_agent_1": sessions,
        },
        "conversion": {
            "id": conversion_id,
            "user_id": str(conversion[0]),
            "agent_name": conversion[1],
            "claim_value": str(conversion[2]),
            "estimated_commission": str(conversion[3]),
            "documents_received": json.loads(conversion[4]),
            "requirements_met": json.loads(conversion[5]),
        },
        "write": {"conversion_id": PRISMA_CONVERSION, "user_id": "10003", "agent_id": 3, "entry_id": entry,
                  "claim_value": "12345678.91"},
    }  # fmt: skip


def test_the_app_s_prisma_client_reads_the_cut_over_tables_and_its_writes_are_reported_and_kept(
    mariadb_url: str, prisma_project: Path, tmp_path: Path
) -> None:
    bring_to(mariadb_url, Phase.CUT_OVER, users=30)
    conversion_id = record_through_the_tracker(mariadb_url)
    facts = facts_of(mariadb_url, conversion_id)
    assert len(facts["queue"]["pending_ids"]) >= 2 and facts["score"]["last_call_outcome"] == "answered"
    entry = facts["write"]["entry_id"]

    passed = node_project.node_test(
        prisma_project, "build/test/cut_over_tables.test.js", env={"CONVTRACK_FACTS": json.dumps(facts)}
    )
    assert passed == 6

    def conversion(conversion_id: str) -> tuple[Any, ...] | None:
        return one_row(
            mariadb_url,
            "SELECT claim_value, documents_received, requirements_met, primary_agent_id FROM conversions WHERE id = :i",
            i=conversion_id,
        )

    def queue_entry() -> tuple[Any, ...] | None:
        return one_row(mariadb_url, "SELECT status, assigned_to_agent_id FROM call_queue WHERE id = :i", i=entry)

    written = conversion(PRISMA_CONVERSION)
    assert written is not None and written[0] == Decimal("12345678.91") and written[3] == 3
    assert json.loads(written[1]) == ["passport", "payslip – März"]
    assert json.loads(written[2]) == {"id_checked": True, "notes": "tab\there"}
    assert queue_entry() == ("assigned", 3)

    reports = ("--reports-dir", str(tmp_path))
    verify = run_convtrack(mariadb_url, "verify", "--live", *reports)
    assert verify.returncode == 8, verify.stdout + verify.stderr
    assert "2 live rows differ" in verify.stderr, verify.stderr
    assert PRISMA_CONVERSION in verify.stdout and entry in verify.stdout, verify.stdout
    listed = json.loads((tmp_path / "verify-live-latest.json").read_text(encoding="utf-8"))["differences"]
    assert {(d["table"], d["id"]) for d in listed} == {("conversions", PRISMA_CONVERSION), ("call_queue", entry)}

    refused = run_convtrack(mariadb_url, "rebuild")
    assert refused.returncode == 5 and "verify --live" in refused.stderr, refused.stdout + refused.stderr
    assert conversion(PRISMA_CONVERSION) == written and queue_entry() == ("assigned", 3)

    discarded = run_convtrack(mariadb_url, "rebuild", "--discard-foreign-writes")
    assert discarded.returncode == 0, discarded.stdout + discarded.stderr
    assert conversion(PRISMA_CONVERSION) is None and queue_entry() == ("pending", None)
    assert conversion(conversion_id) is not None
    again = run_convtrack(mariadb_url, "verify", "--live", *reports)
    assert again.returncode == 0, again.stdout + again.stderr


def test_docs_schema_prisma_describes_the_cut_over_tables_column_for_column(
    mariadb_url: str, prisma_project: Path
) -> None:
    """Types, nullability, defaults, index names and foreign keys as Prisma's MySQL
    connector reads the schema, against what MariaDB reports for the cut-over tables."""
    bring_to(mariadb_url, Phase.CUT_OVER, users=3)
    datamodel = json.loads((prisma_project / "generated" / "dmmf" / "datamodel.json").read_text(encoding="utf-8"))
    expected = described(datamodel)
    assert set(expected) == {"agents", "user_call_scores", "call_queue", "call_sessions", "conversions"}
    with connection(mariadb_url) as conn:
        found = {table: existing(conn, table) for table in expected}
    for table, shape in expected.items():
        own = {name for name, *_ in EXTRA_COLUMNS.get(table, [])}  # the generated legacy data's extra columns
        assert {k: v for k, v in found[table]["columns"].items() if k not in own} == shape["columns"], table
        assert found[table]["indexes"] == shape["indexes"], table
        assert found[table]["foreign_keys"] == shape["foreign_keys"], table
