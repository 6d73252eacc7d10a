"""Log set-up: one handler however often it is configured, JSON fields, levels, and a
database URL that never shows its password."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from infrastructure.observability.logs import (
    LogFormat,
    LogLevel,
    StderrHandler,
    configure_logging,
    log_startup,
    without_password,
)
from infrastructure.settings import Settings


@pytest.fixture(autouse=True)
def restored_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_carry_the_extra_fields_and_the_level_filters(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(LogLevel.INFO, LogFormat.TEXT)
    configure_logging(LogLevel.WARNING, LogFormat.JSON)  # replaces the first, does not add to it
    assert sum(isinstance(h, StderrHandler) for h in logging.getLogger().handlers) == 1
    log = logging.getLogger("convtrack.test")
    log.info("dropped")
    log.warning("kept %d", 7, extra={"request_id": "r-1"})
    [line] = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["message"] == "kept 7" and record["request_id"] == "r-1"
    assert record["level"] == "WARNING" and record["logger"] == "convtrack.test"
    assert record["time"].endswith("Z") and "T" in record["time"]


def test_the_start_up_line_names_the_version_and_the_database_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(LogLevel.INFO, LogFormat.JSON)
    log_startup("serve", "listening", database=without_password("mysql+pymysql://app:s3cret@db:3306/calls"))
    record = json.loads(capsys.readouterr().err)
    assert record["event"] == "startup" and record["command"] == "serve" and record["version"]
    assert record["database"] == "mysql+pymysql://app:***@db:3306/calls"
    assert "s3cret" not in record["message"]


def test_a_value_that_is_no_url_is_not_logged_as_it_is() -> None:
    assert without_password("garbage:pw@host") == "(not a database URL)"
    assert without_password("sqlite:///var/x.sqlite3") == "sqlite:///var/x.sqlite3"


def test_levels_and_formats_are_read_whatever_their_case() -> None:
    settings = Settings(log_level="WARNING", log_format="Json")  # type: ignore[arg-type]
    assert settings.log_level is LogLevel.WARNING and settings.log_format is LogFormat.JSON
    with pytest.raises(ValueError, match="log_level"):
        Settings(log_level="loud")  # type: ignore[arg-type]
