"""The sign-off report verify, cutover and rollback share: what a DBA files."""

from __future__ import annotations

import json
from pathlib import Path

from bootstrap.reports import SignOff, write_signoff


def test_a_report_names_server_database_operator_times_comparison_checksums_and_outcome_never_the_password(
    tmp_path: Path,
) -> None:
    signoff = SignOff.begin(
        "cutover", "mysql+pymysql://convtrack:s3cret-pw@db.internal:3307/app?charset=utf8mb4", "sqlite:///legacy.db"
    )
    signoff.compared = {"user_call_scores": {"rows": 10, "columns": 9}}
    signoff.legacy_checksums = {"snapshot": {"call_queue": "checksum:1"}, "before": {"call_queue": "checksum:1"}}
    signoff.details["legacy_label"] = "ct_legacy_20261124201500_1"
    signoff.finish("cut over", ok=True)
    json_path, md_path = write_signoff(tmp_path, signoff, "# Cutover report: CUT OVER")
    data = json.loads(json_path.read_text())
    assert data["tracker"] == {"backend": "mysql", "host": "db.internal", "port": 3307, "database": "app",
                               "user": "convtrack"}  # fmt: skip
    assert data["legacy"]["backend"] == "sqlite"
    assert data["operator"].count("@") == 1 and data["tool_version"].startswith("conversion-tracker")
    assert data["started_at"] <= data["finished_at"]
    assert data["outcome"] == "cut over" and data["ok"] is True
    assert data["compared"]["user_call_scores"] == {"rows": 10, "columns": 9}
    assert data["legacy_checksums"]["before"]["call_queue"] == "checksum:1"
    assert data["legacy_label"] == "ct_legacy_20261124201500_1"
    markdown = md_path.read_text()
    assert markdown.startswith("# Cutover report: CUT OVER")
    assert "db.internal:3307/app" in markdown and "checksum:1" in markdown
    for text in (json_path.read_text(), markdown, (tmp_path / "cutover-latest.json").read_text()):
        assert "s3cret-pw" not in text
