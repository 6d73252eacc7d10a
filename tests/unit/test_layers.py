"""Dependencies point inward: domain imports only the standard library and eventsourcing;
adapters import what they use, never the service application or the composition root.
(Import cycles, anywhere, are tests/unit/test_structure.py's.)"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(folder: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def test_domain_imports_nothing_beyond_the_standard_library_and_eventsourcing() -> None:
    allowed_roots = set(sys.stdlib_module_names) | {"eventsourcing", "domain", "__future__"}
    for path, names in imported_modules("domain").items():
        for name in names:
            assert name.split(".")[0] in allowed_roots, f"{path} imports {name}"
            if name.startswith("eventsourcing"):
                allowed = name == "eventsourcing.domain" or name.startswith("eventsourcing.domain.")
                assert allowed, f"{path} imports {name}: only eventsourcing.domain"


def test_infrastructure_outside_the_cli_does_not_import_the_bootstrapper() -> None:
    for path, names in imported_modules("infrastructure").items():
        if "/cli/" in path:
            continue
        assert not any(n.split(".")[0] == "bootstrap" for n in names), f"{path} imports the bootstrapper"


def test_projections_and_the_event_store_import_neither_the_application_nor_the_wiring() -> None:
    forbidden = ("infrastructure.application", "infrastructure.wiring")
    for folder in ("infrastructure/projections", "infrastructure/event_store"):
        for path, names in imported_modules(folder).items():
            for name in forbidden:
                assert name not in names, f"{path} imports {name}"
