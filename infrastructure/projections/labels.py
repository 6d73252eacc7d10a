"""The labels of kept table sets, made and checked in one place.

A cutover keeps the legacy tables as ``ct_legacy_<stamp>_<n>``, a rollback keeps the
tracker's tables as ``ct_rolledback_<stamp>_<n>``, a rebuild keeps the old tables as
``ct_retired_<stamp>_<xxxx>``; each label names a sibling database (``<db>_<label>``) on
MariaDB/MySQL or a table prefix (``<label>_``) on SQLite. Nothing else may be spelled as a
label: a label typed on the command line is checked here before any SQL runs, so it can
only ever name a set of tables the tool made.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime

from sqlalchemy import Engine

from domain.errors import InvalidValue
from infrastructure.database import is_sqlite
from infrastructure.projections.tables import TableNames

MYSQL_NAME_LIMIT = 64  # characters in a MariaDB/MySQL database name


class Kind(enum.StrEnum):
    LEGACY = "legacy"  # the legacy tables, kept by a cutover
    ROLLED_BACK = "rolledback"  # the tracker's tables, kept by a rollback
    RETIRED = "retired"  # a rebuild's old tables


LABEL = re.compile(r"ct_(legacy|rolledback|retired)_([0-9]{14})_([0-9a-z]{1,8})")


def make_label(kind: Kind, when: datetime, suffix: str) -> str:
    """``ct_<kind>_<YYYYmmddHHMMSS>_<suffix>`` (suffix: 1-8 of ``0-9a-z``)."""
    return checked_label(f"ct_{kind}_{when:%Y%m%d%H%M%S}_{suffix}", frozenset(Kind))


def checked_label(text: str, kinds: frozenset[Kind]) -> str:
    """``text`` if it is a label the tool makes, of one of ``kinds``; else ``InvalidValue``
    (exit 2), whatever it holds (quotes, dots, spaces, another database's name)."""
    found = LABEL.fullmatch(text)
    if found is None:
        allowed = " or ".join(f"ct_{k}_<YYYYmmddHHMMSS>_<suffix>" for k in sorted(kinds))
        raise InvalidValue("label", f"{text[:80]!r} is not a label the tool makes ({allowed})")
    if Kind(found.group(1)) not in kinds:
        raise InvalidValue("label", f"{text} is a {found.group(1)} label; expected {', '.join(sorted(kinds))}")
    return text


def kept_tables(engine: Engine, label: str, kinds: frozenset[Kind]) -> TableNames:
    """The tables a checked label names on ``engine``'s database."""
    names = TableNames.sibling(engine, checked_label(label, kinds))
    if not is_sqlite(engine) and names.schema is not None and len(names.schema) > MYSQL_NAME_LIMIT:
        raise InvalidValue("label", f"{names.schema} is longer than {MYSQL_NAME_LIMIT} characters")
    return names
