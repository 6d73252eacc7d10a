"""Generated over every registered ``convtrack`` command and every phase (and an empty
database): the command is either allowed by ``domain.lifecycle.ALLOWED`` (the CLI's phase
check lets it through) or refused with exit 5 in one line naming the phase and the next
step, leaving every table's definition and rows, and every file, as they were.
``status`` and ``assess`` run in every phase and write nothing.

One database per phase is prepared once per backend and shared: a refusal must not change
it, and each run is compared with the state taken before the first. The commands run in
process (``main()`` as the console script calls it) to keep ~150 runs within seconds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.commands import REQUIRED, Command, Kind
from domain.errors import WrongPhase
from domain.lifecycle import ALLOWED, NEXT_STEP, Phase
from infrastructure.cli.main import app
from infrastructure.cli.phase_guard import allowed_key, check_phase, leaf_commands
from infrastructure.cli.service_commands import COMMAND_LINES
from tests.support.db_state import database_state, files_under
from tests.support.in_process_cli import run_cli
from tests.support.lifecycle import bring_to
from tests.support.mariadb_server import MariaDBServer

USERS = 12
OPERATOR_ARGV: dict[tuple[str, ...], list[tuple[str, ...]]] = {
    ("status",): [("status", "--json")],
    ("assess",): [("assess", "--json")],
    ("bootstrap",): [("bootstrap",), ("bootstrap", "--dry-run")],
    ("verify",): [("verify",)],
    ("cutover",): [("cutover", "--yes"), ("cutover", "--dry-run")],
    ("rollback",): [("rollback", "--yes"), ("rollback", "--dry-run")],
    ("export",): [("export", "--output", "since.jsonl")],
    ("project",): [("project", "--once")],  # following (no --once) has the same check; it would not return
    ("rebuild",): [("rebuild",), ("rebuild", "--dry-run")],
    ("drop-retired",): [("drop-retired", "ct_retired_20260101000000_abcd", "--yes")],
    ("drop-copy",): [("drop-copy", "ct_retired_20260101000000_abcd", "--yes")],
    ("sample-data",): [("sample-data", "--url", "{url}", "--users", "5")],
    ("serve",): [("serve", "--port", "1")],
    ("demo",): [("demo", "--workdir", "demo", "--users", "10")],
    ("api-key", "create"): [("api-key", "create", "web")],
    ("api-key", "revoke"): [("api-key", "revoke", "web")],
    ("api-key", "list"): [("api-key", "list")],
    ("db", "upgrade"): [("db", "upgrade")],
    ("db", "current"): [("db", "current")],
    ("db", "history"): [("db", "history")],
    ("config",): [("config",)],
    ("api-key", "rotate"): [("api-key", "rotate", "web", "--grace-seconds", "5")],
    ("history",): [("history", "--user-id", "10005"), ("history", "--user-id", "10005", "--json")],
}
EXAMPLES: dict[Kind, Any] = {Kind.USER_ID: 10005, Kind.INT: 1, Kind.SHORT: "some-id"}


@dataclass(frozen=True)
class Case:
    label: str
    phase: Phase
    url: str
    folder: Path | None  # the SQLite file's folder


def example_arguments(command_type: type[Command]) -> list[str]:
    """The command's required fields, each with its example value."""
    argv: list[str] = []
    for name, field_spec, default in command_type.specs():
        if default is not REQUIRED:
            continue
        value = field_spec.example if field_spec.example is not None else EXAMPLES[field_spec.kind]
        text = json.dumps(value) if isinstance(value, list | dict) else str(value)
        argv += [text] if field_spec.argument else ["--" + name.replace("_", "-"), text]
    return argv


def invocations(url: str) -> dict[tuple[str, ...], list[list[str]]]:
    """Every registered command's words and the command lines that run it."""
    group_names = {id(group.typer_instance): group.name for group in app.registered_groups}
    found = {
        words: [[arg.replace("{url}", url) for arg in argv] for argv in argvs] for words, argvs in OPERATOR_ARGV.items()
    }
    for group, name, command_type in COMMAND_LINES:
        words = (str(group_names[id(group)]), name)
        found[words] = [[*words, *example_arguments(command_type)]]
    return found


def prepare(label: str, phase: Phase, url: str, folder: Path | None) -> Case:
    if label != "empty":
        bring_to(url, phase, users=USERS)
    return Case(label, phase, url, folder)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def cases(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Case]]:
    """An empty database and one in each phase, on SQLite or on the session's MariaDB."""
    labels = [("empty", Phase.NOT_BOOTSTRAPPED), *((phase.value, phase) for phase in Phase)]
    if request.param == "sqlite":
        root = tmp_path_factory.mktemp("phases")
        made = []
        for label, phase in labels:
            (root / label).mkdir()
            made.append(prepare(label, phase, f"sqlite:///{root / label / 'tracker.sqlite3'}", root / label))
        yield made
        return
    server: MariaDBServer = request.getfixturevalue("mariadb_server")
    names = [server.create_database() for _ in labels]
    try:
        yield [
            prepare(label, phase, server.url(name), None) for (label, phase), name in zip(labels, names, strict=True)
        ]
    finally:
        for name in names:
            server.drop_database(name)


def snapshot(case: Case, cwd: Path) -> tuple[Any, set[str]]:
    return database_state(case.url), files_under(cwd, *([case.folder] if case.folder else []))


def refusal_problems(case: Case, argv: list[str], code: int, out: str, err: str) -> list[str]:
    where = f"{case.label}: convtrack {' '.join(argv)}"
    lines = [line for line in err.splitlines() if line.strip()]
    if code != 5 or out or len(lines) != 1:
        return [f"{where}: exit {code}, stdout {out!r}, stderr {err!r}"]
    line = lines[0]
    expected = ("error: ", f"phase {case.phase}", f"next: {NEXT_STEP[case.phase]}")
    return [] if all(part in line for part in expected) else [f"{where}: {line}"]


@pytest.mark.slow
def test_every_command_in_every_phase_is_allowed_or_refused_with_exit_5_changing_nothing(
    cases: list[Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # reports, exports and a .env would land here
    problems: list[str] = []
    refused = 0
    for case in cases:
        monkeypatch.setenv("CONVTRACK_DATABASE_URL", case.url)
        before = snapshot(case, tmp_path)
        for words, argvs in invocations(case.url).items():
            key, what = allowed_key(words[0]), " ".join(words)
            if case.phase in ALLOWED[key]:
                try:
                    check_phase(key, what, {"url": case.url})
                except WrongPhase as error:
                    problems.append(f"{case.label}: {what} is allowed but the CLI refused it: {error}")
                continue
            for argv in argvs:
                refused += 1
                problems += refusal_problems(case, argv, *run_cli(argv, monkeypatch, capsys))
                if snapshot(case, tmp_path) != before:
                    problems.append(f"{case.label}: convtrack {' '.join(argv)} changed the database or created files")
                    before = snapshot(case, tmp_path)
    assert not problems, "\n".join(problems)
    assert refused > 50


@pytest.mark.slow
def test_status_and_assess_write_nothing_in_any_phase_and_status_names_it(
    cases: list[Case], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for case in cases:
        monkeypatch.setenv("CONVTRACK_DATABASE_URL", case.url)
        before = snapshot(case, tmp_path)
        code, out, err = run_cli(["status", "--json"], monkeypatch, capsys)
        assert code == 0, (case.label, err)
        facts = json.loads(out)
        assert (facts["phase"], facts["next"]) == (case.phase.value, NEXT_STEP[case.phase]), case.label
        assert_status_details(case, facts)
        code, out, err = run_cli(["status"], monkeypatch, capsys)
        assert code == 0 and out.startswith(f"phase: {case.phase}") and f"next: {NEXT_STEP[case.phase]}" in out, out
        run_cli(["assess", "--json"], monkeypatch, capsys)
        assert snapshot(case, tmp_path) == before, f"{case.label}: status or assess changed something"


def assert_status_details(case: Case, facts: dict[str, Any]) -> None:
    history = ["cutover" if "cutover" in entry else "rollback" for entry in facts["history"]]
    projections = {p["name"]: p for p in facts["projections"]}
    if case.phase in (Phase.NOT_BOOTSTRAPPED, Phase.BOOTSTRAPPING):
        assert facts["counts"] == {} and history == [], facts
    if case.phase is not Phase.NOT_BOOTSTRAPPED:
        assert facts["entered_at"] and facts["bootstrap_time"] and facts["head"] > 0, facts
    if case.phase is Phase.BOOTSTRAPPED:
        assert facts["counts"]["score rows"] > 0 and projections["staging"]["lag"] >= 0, facts
    if case.phase is Phase.CUT_OVER:
        assert facts["legacy_label"] and history == ["cutover"] and "live" in projections, facts
    if case.phase is Phase.ROLLED_BACK:
        assert history == ["cutover", "rollback"] and facts["rollback_pending"] is None, facts


def test_the_generated_test_covers_every_registered_command() -> None:
    registered = {words for words, _ in leaf_commands(app)}
    assert set(invocations("sqlite://")) == registered
