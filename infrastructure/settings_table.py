"""The table of settings in docs/configuration.md, generated from the ``Settings`` class.

    python -m infrastructure.settings_table --write   # rewrite the table in the docs
    python -m infrastructure.settings_table --check   # exit 1 when the docs differ
    python -m infrastructure.settings_table           # print it

A test (tests/unit/test_configuration_table.py) fails when the docs and the class differ."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infrastructure.configuration import allowed, mask
from infrastructure.settings import Settings, env_name, option_name

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
BEGIN = "<!-- settings-table: begin (generated: python -m infrastructure.settings_table --write) -->"
END = "<!-- settings-table: end -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def settings_table() -> str:
    rows = [
        "| environment variable | option | meaning | allowed | default |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, field in Settings.model_fields.items():
        default = mask(name, field.default)
        shown = f"`{default}`" if default else "unset"
        rows.append(
            f"| `{env_name(name)}` | `{option_name(name)}` | {_cell(field.description or '')} "
            f"| {_cell(allowed(field))} | {shown} |"
        )
    return "\n".join(rows)


def documented(text: str) -> str:
    """The table as the document has it (between the markers)."""
    if BEGIN not in text or END not in text:
        raise ValueError(f"{DOC} has no {BEGIN} … {END} markers")
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def with_table(text: str) -> str:
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    return f"{before}{BEGIN}\n{settings_table()}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"rewrite the table in {DOC.name}")
    action.add_argument("--check", action="store_true", help=f"exit 1 when {DOC.name} differs from the class")
    args = parser.parse_args(argv)
    if not (args.write or args.check):
        print(settings_table())
        return 0
    text = DOC.read_text(encoding="utf-8")
    if args.check:
        same = documented(text) == settings_table()
        print(f"{DOC.name}: {'up to date' if same else 'differs; run python -m infrastructure.settings_table --write'}")
        return 0 if same else 1
    DOC.write_text(with_table(text), encoding="utf-8")
    print(f"wrote the settings table into {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
