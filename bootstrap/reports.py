"""Writing operator reports: JSON for machines, Markdown for people."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


def verify_report_data(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "checks": [dataclasses.asdict(c) for c in report.checks],
        "mismatch_count": report.mismatch_count,
        "mismatches": report.mismatches,
        "figures": report.figures,
    }


def verify_report_markdown(report: VerifyReport) -> str:
    lines = [
        f"# Verify report: {'PASSED' if report.ok else 'FAILED'}",
        "",
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
