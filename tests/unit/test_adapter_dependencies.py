"""Adapters depend on what they use: the projections and the event store import neither
the service application nor the composition root, and no two modules import each other."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ADAPTERS = ("infrastructure/projections", "infrastructure/event_store")
FORBIDDEN = ("infrastructure.application", "infrastructure.wiring")


def imports_of(path: Path) -> set[str]:
    """Every module the file imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_projections_and_the_event_store_import_neither_the_application_nor_the_wiring() -> None:
    for folder in ADAPTERS:
        for path in (ROOT / folder).rglob("*.py"):
            imported = imports_of(path)
            for forbidden in FORBIDDEN:
                assert forbidden not in imported, f"{path.relative_to(ROOT)} imports {forbidden}"


def test_no_import_cycles_among_the_projection_and_event_store_modules() -> None:
    paths = [path for folder in ADAPTERS for path in (ROOT / folder).rglob("*.py")]
    modules = {module_name(path) for path in paths}
    graph = {module_name(path): imports_of(path) & modules for path in paths}

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for nxt in graph[start]:
            if nxt == goal or (nxt not in seen and (seen.add(nxt) or reaches(nxt, goal, seen))):
                return True
        return False

    cyclic = sorted(module for module in graph if reaches(module, module, set()))
    assert not cyclic, f"import cycle through {cyclic}"
