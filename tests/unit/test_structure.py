"""The shape the code keeps: no import cycles, small functions and classes, and each name
the domain owns spelled in exactly one module."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("domain", "infrastructure", "bootstrap")
MAX_FUNCTION_LINES = 60
MAX_CLASS_LINES = 300


def modules() -> Iterator[tuple[str, Path, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            yield name, path, ast.parse(path.read_text(encoding="utf-8"))


def imports_of(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The project's modules this one imports, anywhere in it (deferred imports count)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module
            if node.level:
                base = ".".join(name.split(".")[: -node.level] + [node.module])
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in known and target != name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_module_of_domain_infrastructure_or_bootstrap_takes_part_in_an_import_cycle() -> None:
    parsed = {name: tree for name, _, tree in modules()}
    known = set(parsed)
    graph = {name: imports_of(name, tree, known) for name, tree in parsed.items()}
    # a package's __init__ is imported with any of its modules: it may not import them back
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_function_is_over_60_lines_and_no_class_over_300_outside_tests() -> None:
    too_long = []
    for _, path, tree in modules():
        for node in ast.walk(tree):
            lines = (getattr(node, "end_lineno", 0) or 0) - getattr(node, "lineno", 0) + 1
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and lines > MAX_FUNCTION_LINES:
                too_long.append(f"{path.relative_to(ROOT)}: function {node.name} has {lines} lines")
            elif isinstance(node, ast.ClassDef) and lines > MAX_CLASS_LINES:
                too_long.append(f"{path.relative_to(ROOT)}: class {node.name} has {lines} lines")
    assert too_long == []


OWNED_NAMES = {
    "legacy-callback-": "domain/call_queue_entry.py",
    "/call_queue/": "domain/identity.py",
    "/user_call_scores/": "domain/identity.py",
    "/conversions/": "domain/identity.py",
    "/bootstrap_run": "domain/identity.py",
    "/legacy_schema": "domain/identity.py",
    "live": "infrastructure/projections/names.py",
}


def string_constants(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def test_each_name_the_domain_owns_is_spelled_in_exactly_one_module() -> None:
    spelled: dict[str, set[str]] = {name: set() for name in OWNED_NAMES}
    for _, path, tree in modules():
        for value in string_constants(tree):
            for name in OWNED_NAMES:
                if (value == name) if name == "live" else (name in value):
                    spelled[name].add(str(path.relative_to(ROOT)))
    assert spelled == {name: {home} for name, home in OWNED_NAMES.items()}


def test_no_event_topic_is_typed_as_a_string() -> None:
    typed = [
        f"{path.relative_to(ROOT)}: {value}"
        for _, path, tree in modules()
        for value in string_constants(tree)
        if re.fullmatch(r"domain\.\w+:\w+(\.\w+)*", value)
    ]
    assert typed == []
