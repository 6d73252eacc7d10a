"""Labels of kept table sets: only the names the tool makes pass, whatever else is typed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.errors import InvalidValue
from infrastructure.database import make_engine
from infrastructure.projections.labels import Kind, checked_label, kept_tables, make_label
from infrastructure.projections.rebuild import DROPPABLE

ALL = frozenset(Kind)


def test_the_labels_the_tool_makes_pass_the_check() -> None:
    when = datetime(2026, 11, 24, 20, 15, 0, tzinfo=UTC)
    assert make_label(Kind.LEGACY, when, "1") == "ct_legacy_20261124201500_1"
    assert make_label(Kind.ROLLED_BACK, when, "2") == "ct_rolledback_20261124201500_2"
    assert make_label(Kind.RETIRED, when, "ab12") == "ct_retired_20261124201500_ab12"
    assert checked_label("ct_retired_20261124201500_ab12", DROPPABLE) == "ct_retired_20261124201500_ab12"


@pytest.mark.parametrize(
    "typed",
    [
        "ct_retired_`.`x`, `otherdb`.`victim` -- ",
        "ct_retired_20261124201500_ab12`; DROP DATABASE app; -- ",
        'ct_retired_20261124201500_ab12" ; DROP TABLE "agents',
        "ct_retired_20261124201500_ab12 ",
        "ct_retired_20261124201500_AB12",
        "ct_retired_2026112420150_ab12",
        "ct_retired_20261124201500_",
        "ct_retired_20261124201500_ab12.x",
        "ct_staging",
        "ct_rebuild",
        "",
        "../ct_retired_20261124201500_ab12",
        "ct_retired_20261124201500_ab12\n",
    ],
)
def test_anything_else_is_refused_as_invalid_input_before_any_sql(typed: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        checked_label(typed, ALL)
    assert refused.value.exit_code == 2


def test_a_label_of_another_kind_is_refused() -> None:
    with pytest.raises(InvalidValue, match="legacy label"):
        checked_label("ct_legacy_20261124201500_1", DROPPABLE)


def test_a_kept_set_is_a_sibling_database_on_mariadb_and_a_prefix_on_sqlite(tmp_path: object) -> None:
    mysql = make_engine("mysql+pymysql://u:secret@db.internal:3306/app")
    names = kept_tables(mysql, "ct_retired_20261124201500_ab12", DROPPABLE)
    assert names.schema == "app_ct_retired_20261124201500_ab12"
    assert names.qualified("call_queue") == "`app_ct_retired_20261124201500_ab12`.`call_queue`"
    sqlite = make_engine("sqlite://")
    assert kept_tables(sqlite, "ct_retired_20261124201500_ab12", DROPPABLE).scores == (
        "ct_retired_20261124201500_ab12_user_call_scores"
    )


def test_a_sibling_database_name_longer_than_mariadb_allows_is_refused() -> None:
    engine = make_engine(f"mysql+pymysql://u:p@h/{'a' * 40}")
    with pytest.raises(InvalidValue, match="longer than 64"):
        kept_tables(engine, "ct_retired_20261124201500_ab12", DROPPABLE)
