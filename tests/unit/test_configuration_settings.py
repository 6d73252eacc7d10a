"""The pieces behind configuration: what each setting allows (derived from its type, so a
field another change adds is described too), the root options and the table derived from
the class, password masking, the URL check and the check of places to write."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field

from infrastructure import settings_table
from infrastructure.cli import settings_options
from infrastructure.configuration import allowed, apply_options, forget_options, mask, sources, unusable_path
from infrastructure.database import checked_url
from infrastructure.settings import Settings


class MoreSettings(Settings):
    """Settings as another change might extend them."""

    trace_format: Literal["text", "json"] = Field("text", description="How trace lines are written")
    admin_port: int | None = Field(None, ge=1024, le=65535, description="Port of the admin endpoint")


def test_what_a_setting_allows_is_read_off_its_type_and_bounds() -> None:
    fields = MoreSettings.model_fields
    assert allowed(fields["trace_format"]) == "one of text, json"
    assert allowed(fields["admin_port"]) == "an integer ≥ 1024 and ≤ 65535 (or unset)"
    assert allowed(fields["embedded_follower"]) == "true or false"
    assert allowed(fields["poll_interval_seconds"]) == "a number > 0 and ≤ 60"
    assert allowed(fields["database_url"]).startswith("sqlite:///")  # the field's own words


def test_a_field_added_to_the_class_becomes_a_root_option_and_a_table_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings_options, "Settings", MoreSettings)
    monkeypatch.setattr(settings_table, "Settings", MoreSettings)
    names = [parameter.default.param_decls[0] for parameter in settings_options.settings_parameters()]
    assert names[-2:] == ["--trace-format", "--admin-port"] and len(names) == len(MoreSettings.model_fields)
    row = settings_table.settings_table().splitlines()[-1]
    assert row == (
        "| `CONVTRACK_ADMIN_PORT` | `--admin-port` | Port of the admin endpoint "
        "| an integer ≥ 1024 and ≤ 65535 (or unset) | unset |"
    )


def test_passwords_and_secrets_are_masked_even_in_a_url_that_does_not_parse() -> None:
    assert mask("database_url", "mysql+pymysql://tracker:s3cret@db:3306/claims") == (
        "mysql+pymysql://tracker:***@db:3306/claims"
    )
    assert mask("legacy_url", "mysql://tracker:s3cret@db:notaport/claims") == "mysql://tracker:***@db:notaport/claims"
    assert mask("metrics_token", "abc") == "***"
    assert mask("api_port", 8000) == "8000" and mask("embedded_follower", False) == "false"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("sqlite:///var/x.sqlite3", None),
        ("sqlite://", None),
        ("mariadb+pymysql://u:p@h/db", None),
        ("mysql+mysqldb://u:p@h/db", "write mysql+pymysql://"),
        ("mariadb://h/db", "write mariadb+pymysql://"),
        ("mysql+pymysql://u:p@h:0/db", "outside 1-65535"),
        ("mysql+pymysql://u:p@h:70000/db", "outside 1-65535"),
        ("oracle://h/db", "unsupported database (oracle)"),
        ("  ", "is empty"),
    ],
)
def test_only_sqlite_and_pymysql_urls_with_a_real_port_pass(url: str, problem: str | None) -> None:
    if problem is None:
        checked_url(url)
        return
    with pytest.raises(ValueError, match=problem.replace("+", r"\+").replace("(", r"\(").replace(")", r"\)")):
        checked_url(url)


def test_a_place_to_write_is_judged_whether_it_exists_or_not(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert unusable_path(tmp_path / "new" / "deeper", directory=True) is None
    assert unusable_path(tmp_path, directory=True) is None
    assert unusable_path(tmp_path / "file", directory=True) == f"{tmp_path / 'file'} is a file, not a directory"
    assert unusable_path(tmp_path / "file" / "x", directory=False) == f"{tmp_path / 'file'} is a file, not a directory"
    assert unusable_path(tmp_path, directory=False) == f"{tmp_path} is a directory, not a file"
    assert unusable_path(Path("/proc/new-folder"), directory=True) == "/proc is not writable"
    assert list(tmp_path.iterdir()) == [tmp_path / "file"], "judging creates nothing"


def test_a_root_option_wins_is_reported_as_such_and_is_gone_afterwards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVTRACK_API_PORT", "8100")
    monkeypatch.delenv("CONVTRACK_API_WORKERS", raising=False)
    apply_options({"api_port": "8200", "api_workers": "3", "api_host": None})
    try:
        assert (Settings().api_port, Settings().api_workers) == (8200, 3)
        assert sources()["api_port"] == "option" and sources()["api_host"] in {"default", "env", ".env"}
    finally:
        forget_options()
    assert os.environ["CONVTRACK_API_PORT"] == "8100" and "CONVTRACK_API_WORKERS" not in os.environ
    assert sources()["api_port"] == "env"
