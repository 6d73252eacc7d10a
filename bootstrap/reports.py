"""Writing operator reports: JSON for machines, Markdown for people."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any


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
