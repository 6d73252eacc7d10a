"""Writing operator reports: JSON for machines, Markdown for people.

verify, cutover and rollback each write a sign-off report of one shape (``SignOff``): the
server and database (never a password), the tool's version, the operator (user@host),
start and end times, the rows and columns compared, the legacy tables' checksums (the
bootstrap's snapshot, before and after the command) and the outcome; then what the
command itself found.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import socket
from dataclasses import asdict, field, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import make_url

if TYPE_CHECKING:
    from bootstrap.verify import VerifyReport


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return str(value)


def to_json(data: Any) -> str:
    return json.dumps(data, default=_default, indent=2, ensure_ascii=False, sort_keys=False)


def write_reports(directory: Path, name: str, data: dict[str, Any], markdown: str) -> tuple[Path, Path]:
    """``<name>-<timestamp>.json`` and ``.md``, plus ``<name>-latest.*`` copies."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    json_path = directory / f"{name}-{stamp}.json"
    md_path = directory / f"{name}-{stamp}.md"
    body = to_json(data)
    json_path.write_text(body, encoding="utf-8")
    md_path.write_text(markdown, encoding="utf-8")
    (directory / f"{name}-latest.json").write_text(body, encoding="utf-8")
    (directory / f"{name}-latest.md").write_text(markdown, encoding="utf-8")
    return json_path, md_path


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ").replace("\t", "\\t")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def database_of(url: str) -> dict[str, Any]:
    """Where a URL points, for a report: never its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return {"backend": "sqlite", "database": str(Path(parsed.database or ":memory:").resolve())}
    return {
        "backend": parsed.get_backend_name(),
        "host": parsed.host or "localhost",
        "port": parsed.port or 3306,
        "database": parsed.database,
        "user": parsed.username,
    }


def operator() -> str:
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment or the password database
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def tool_version() -> str:
    try:
        return f"conversion-tracker {metadata.version('conversion-tracker')}"
    except metadata.PackageNotFoundError:
        return "conversion-tracker (not installed)"


@dataclasses.dataclass
class SignOff:
    """One command's report for the DBA's file, filled in as the command goes."""

    command: str
    tracker: dict[str, Any]
    legacy: dict[str, Any]
    operator: str = field(default_factory=operator)
    tool_version: str = field(default_factory=tool_version)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    outcome: str = "interrupted"
    ok: bool = False
    compared: dict[str, dict[str, int]] = field(default_factory=dict)  # table: {rows, columns}
    legacy_checksums: dict[str, dict[str, str]] = field(default_factory=dict)  # snapshot/before/after
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def begin(cls, command: str, tracker_url: str, legacy_url: str) -> SignOff:
        return cls(command, database_of(tracker_url), database_of(legacy_url))

    def finish(self, outcome: str, *, ok: bool) -> None:
        self.outcome, self.ok, self.finished_at = outcome, ok, datetime.now(UTC)

    def data(self) -> dict[str, Any]:
        """The JSON report: the sign-off fields, then the command's own (``details``)."""
        data = {k: v for k, v in asdict(self).items() if k != "details"}
        return {**data, **self.details}

    def markdown(self, title: str, body: str = "") -> str:
        rows = [
            ["outcome", self.outcome],
            ["tracker database", _where(self.tracker)],
            ["legacy database", _where(self.legacy)],
            ["tool", self.tool_version],
            ["operator", self.operator],
            ["started", self.started_at.isoformat()],
            ["finished", self.finished_at.isoformat() if self.finished_at else "(did not finish)"],
        ]
        lines = [title, "", markdown_table(["", ""], rows), ""]
        if self.compared:
            compared = [[t, c.get("rows"), c.get("columns")] for t, c in self.compared.items()]
            lines += ["## Compared", "", markdown_table(["table", "rows", "columns"], compared), ""]
        if self.legacy_checksums:
            lines += ["## Legacy checksums", "", _checksum_table(self.legacy_checksums), ""]
        return "\n".join(lines) + ("\n" + body if body else "")


def _where(database: dict[str, Any]) -> str:
    if database.get("backend") == "sqlite":
        return f"sqlite {database['database']}"
    return f"{database['backend']} {database['host']}:{database['port']}/{database['database']} as {database['user']}"


def _checksum_table(checksums: dict[str, dict[str, str]]) -> str:
    moments = list(checksums)
    tables = sorted({t for values in checksums.values() for t in values})
    return markdown_table(["table", *moments], [[t, *(checksums[m].get(t, "") for m in moments)] for t in tables])


def write_signoff(directory: Path, signoff: SignOff, title: str, body: str = "") -> tuple[Path, Path]:
    """``<command>-<stamp>.json`` and ``.md`` (and ``<command>-latest.*``)."""
    return write_reports(directory, signoff.command, signoff.data(), signoff.markdown(title, body))


def verify_report_data(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checks": [dataclasses.asdict(c) for c in report.checks],
        "mismatch_count": report.mismatch_count,
        "mismatches": report.mismatches,
        "figures": report.figures,
    }


def verify_report_title(report: VerifyReport) -> str:
    return f"# Verify report: {'PASSED' if report.ok else 'FAILED'}"


def verify_report_markdown(report: VerifyReport) -> str:
    return f"{verify_report_title(report)}\n\n{verify_report_body(report)}"


def verify_report_body(report: VerifyReport) -> str:
    lines = [
        markdown_table(
            ["check", "result", "detail"],
            [[c.name, "pass" if c.ok else "FAIL", c.detail] for c in report.checks],
        ),
        "",
    ]
    if report.figures:
        lines += [
            "## Score figures (the guide's min/max/avg check)",
            "",
            markdown_table(
                ["", "min", "max", "sum", "count"],
                [[k, v["min"], v["max"], v["sum"], v["count"]] for k, v in report.figures.items()],
            ),
            "",
        ]
    lines += [f"## Mismatches: {report.mismatch_count}", ""]
    if report.mismatches:
        lines.append(
            markdown_table(
                ["table", "id", "column", "legacy", "projected"],
                [[m["table"], m["id"], m["column"], m["legacy"], m["projected"]] for m in report.mismatches],
            )
        )
    return "\n".join(lines) + "\n"
