"""cutover and rollback ask for the database's name on a terminal and need --yes elsewhere."""

from __future__ import annotations

import pytest

from domain.errors import OperationRefused
from infrastructure.cli.confirmation import confirm

URL = "mysql+pymysql://convtrack:secret@db.internal:3306/app"


def never_asked(_text: str) -> str:
    raise AssertionError("asked without a terminal, or despite --yes")


def test_yes_confirms_without_asking() -> None:
    confirm("cutover", URL, True, interactive=True, ask=never_asked)
    confirm("cutover", URL, True, interactive=False, ask=never_asked)


def test_without_a_terminal_and_without_yes_it_refuses_in_one_line() -> None:
    with pytest.raises(OperationRefused, match="pass --yes") as refused:
        confirm("cutover", URL, False, interactive=False, ask=never_asked)
    assert refused.value.exit_code == 5 and "\n" not in str(refused.value)


def test_on_a_terminal_the_database_name_confirms_and_anything_else_refuses() -> None:
    asked: list[str] = []
    confirm("rollback", URL, False, interactive=True, ask=lambda text: asked.append(text) or "app")
    assert "app" in asked[0] and "secret" not in asked[0]
    for typed in ("", "yes", "APP", "app_ct_legacy", "db.internal"):
        with pytest.raises(OperationRefused, match="nothing done"):
            confirm("rollback", URL, False, interactive=True, ask=lambda _text, typed=typed: typed)
