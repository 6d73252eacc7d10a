"""docs/configuration.md's table of settings is the one generated from the ``Settings``
class: every field, with its variable, option, meaning, what it allows and its default."""

from __future__ import annotations

import pytest

from infrastructure.settings import Settings
from infrastructure.settings_table import DOC, documented, main, settings_table, with_table


def test_the_documented_table_is_the_one_generated_from_the_settings_class() -> None:
    assert documented(DOC.read_text(encoding="utf-8")) == settings_table(), (
        "docs/configuration.md is stale: run python -m infrastructure.settings_table --write"
    )


def test_the_table_has_one_row_per_setting_with_its_variable_option_and_default() -> None:
    rows = settings_table().splitlines()[2:]
    assert len(rows) == len(Settings.model_fields)
    for row, (name, field) in zip(rows, Settings.model_fields.items(), strict=True):
        assert row.startswith(f"| `CONVTRACK_{name.upper()}` | `--{name.replace('_', '-')}` |"), row
        assert (field.description or "") in row.replace("\\|", "|")


def test_the_password_of_a_default_url_is_masked_and_unset_defaults_say_so() -> None:
    table = settings_table()
    assert "| `sqlite:///var/convtrack.sqlite3` |" in table
    assert "(unset: the database URL) |" in table and table.count("| unset |") >= 1


def test_a_changed_table_is_found_and_rewritten_between_the_markers(capsys: pytest.CaptureFixture[str]) -> None:
    text = DOC.read_text(encoding="utf-8")
    stale = with_table(text).replace("`CONVTRACK_API_PORT`", "`CONVTRACK_PORT`")
    assert documented(stale) != settings_table()
    assert documented(with_table(stale)) == settings_table()
    assert with_table(stale).split("<!-- settings-table")[0] == text.split("<!-- settings-table")[0]
    assert main(["--check"]) == 0 and "up to date" in capsys.readouterr().out
