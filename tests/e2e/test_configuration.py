"""Configuration as a user meets it: every value that is not allowed is one ``error:`` line
naming the setting and what is allowed (exit 2) before anything starts; a busy port is its
own line and exit code; ``convtrack config`` shows each value's source with the password
masked; ``--version`` and shell completion answer.

A few cases run the installed ``convtrack`` executable in a child process (what a user
runs); the rest run it in this process (``tests/support/in_process_cli.py``)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from domain.errors import PortInUse
from tests.support.in_process_cli import run_cli
from tests.support.processes import CONVTRACK

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="uses /proc as a place that cannot be written")

URL_ALLOWED = "allowed: sqlite:///path/to/file.sqlite3 or mysql+pymysql://"
BAD_SETTINGS = {  # environment, words the one line must contain
    "garbage URL": (
        {"CONVTRACK_DATABASE_URL": "garbage"},
        ["CONVTRACK_DATABASE_URL", "cannot be parsed as a database URL", URL_ALLOWED],
    ),
    "empty URL": ({"CONVTRACK_DATABASE_URL": ""}, ["CONVTRACK_DATABASE_URL", "is empty", URL_ALLOWED]),
    "postgresql": (
        {"CONVTRACK_DATABASE_URL": "postgresql://tracker:s3cret@db/claims"},
        ["CONVTRACK_DATABASE_URL", "unsupported database (postgresql)", URL_ALLOWED],
    ),
    "mysql without a driver": (
        {"CONVTRACK_DATABASE_URL": "mysql://tracker:s3cret@db/claims"},
        ["CONVTRACK_DATABASE_URL", "write mysql+pymysql://"],
    ),
    "port not a number": (
        {"CONVTRACK_DATABASE_URL": "mysql+pymysql://tracker:s3cret@db:notaport/claims"},
        ["CONVTRACK_DATABASE_URL", "port that is not a number", URL_ALLOWED],
    ),
    "legacy URL": ({"CONVTRACK_LEGACY_URL": "mysql://legacy/claims"}, ["CONVTRACK_LEGACY_URL", "mysql+pymysql://"]),
    "API port abc": ({"CONVTRACK_API_PORT": "abc"}, ["CONVTRACK_API_PORT", "--api-port", "allowed: an integer ≥ 1"]),
    "API port 99999": ({"CONVTRACK_API_PORT": "99999"}, ["CONVTRACK_API_PORT", "'99999'", "≤ 65535"]),
    "workers 0": ({"CONVTRACK_API_WORKERS": "0"}, ["CONVTRACK_API_WORKERS", "≥ 1"]),
    "poll interval": ({"CONVTRACK_POLL_INTERVAL_SECONDS": "-1"}, ["CONVTRACK_POLL_INTERVAL_SECONDS", "> 0"]),
    "follower flag": ({"CONVTRACK_EMBEDDED_FOLLOWER": "perhaps"}, ["CONVTRACK_EMBEDDED_FOLLOWER", "true or false"]),
    "events table": ({"CONVTRACK_EVENTS_TABLE": "x; drop"}, ["CONVTRACK_EVENTS_TABLE", "allowed: a table name"]),
}


def one_error_line(code: int, out: str, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and not out and len(lines) == 1 and lines[0].startswith("error: "), (code, out, err)
    return lines[0]


def run_installed(*argv: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if not key.startswith("CONVTRACK_")}
    return subprocess.run(
        [CONVTRACK, *argv], env={**clean, **env}, cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CONVTRACK_* variable from outside, in an empty working directory (no .env)."""
    for key in list(os.environ):
        if key.startswith("CONVTRACK_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("case", sorted(BAD_SETTINGS))
def test_a_setting_that_is_not_allowed_is_one_line_naming_it_and_exit_2_creating_nothing(
    case: str, clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environment, words = BAD_SETTINGS[case]
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    for argv in (["status"], ["serve"], ["project", "--once"], ["config"]):
        line = one_error_line(*run_cli(argv, monkeypatch, capsys))
        assert all(word in line for word in words), line
        assert "s3cret" not in line, line
    assert list(clean_env.iterdir()) == [], "nothing may be created"


@pytest.mark.parametrize("case", ["garbage URL", "mysql without a driver", "API port abc"])
def test_the_installed_command_refuses_a_bad_setting_in_one_line(case: str, tmp_path: Path) -> None:
    environment, words = BAD_SETTINGS[case]
    done = run_installed("serve", cwd=tmp_path, env=environment)
    line = one_error_line(done.returncode, done.stdout, done.stderr)
    assert all(word in line for word in words), line


def test_a_url_given_to_sample_data_is_checked_the_same_way(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sample-data", "--url", "mysql://app:s3cret@db/claims"]
    line = one_error_line(*run_cli(argv, monkeypatch, capsys))
    assert line.startswith("error: --url: 'mysql://app:***@db/claims' needs the PyMySQL driver"), line


def test_a_root_option_is_checked_like_its_variable(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    line = one_error_line(*run_cli(["--api-port", "abc", "serve"], monkeypatch, capsys))
    assert "CONVTRACK_API_PORT (--api-port): 'abc'" in line, line


def test_without_a_url_an_unopenable_default_database_names_the_path_and_the_variable(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("a file where the default database's folder belongs")
    done = run_installed("status", cwd=tmp_path, env={})
    line = one_error_line(done.returncode, done.stdout, done.stderr)
    assert "sqlite:///var/convtrack.sqlite3" in line and "CONVTRACK_DATABASE_URL" in line, line
    assert f"{tmp_path / 'var'} is a file" in line, line


def test_a_configured_sqlite_file_that_cannot_be_created_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / "taken").write_text("")
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", f"sqlite:///{clean_env / 'taken' / 'tracker.sqlite3'}")
    line = one_error_line(*run_cli(["status"], monkeypatch, capsys))
    assert "CONVTRACK_DATABASE_URL" in line and "cannot be opened or created" in line, line


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["verify", "--reports-dir", "a-file"], ["--reports-dir", "a-file is a file, not a directory"]),
        (["verify", "--reports-dir", "a-file/below"], ["--reports-dir", "a-file is a file, not a directory"]),
        (["cutover", "--yes", "--reports-dir", "/proc/reports"], ["--reports-dir", "/proc is not writable"]),
        (["rollback", "--yes", "--reports-dir", "a-file"], ["--reports-dir", "is a file"]),
        (["export", "--output", "a-folder"], ["--output", "a-folder is a directory, not a file"]),
        (["export", "--output", "/proc/export.jsonl"], ["--output", "/proc is not writable"]),
    ],
)
def test_a_place_to_write_that_cannot_be_written_is_refused_before_anything_else(
    argv: list[str],
    words: list[str],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (clean_env / "a-file").write_text("")
    (clean_env / "a-folder").mkdir()
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", f"sqlite:///{clean_env / 'tracker.sqlite3'}")
    line = one_error_line(*run_cli(argv, monkeypatch, capsys))
    assert all(word in line for word in words), line
    assert sorted(path.name for path in clean_env.iterdir()) == ["a-file", "a-folder"]


def test_a_reports_setting_naming_a_file_is_refused(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / "a-file").write_text("")
    monkeypatch.setenv("CONVTRACK_REPORTS_DIR", "a-file")
    line = one_error_line(*run_cli(["export"], monkeypatch, capsys))
    assert "CONVTRACK_REPORTS_DIR (--reports-dir): 'a-file' is a file" in line, line


@pytest.mark.parametrize("workers", [1, 2])
def test_a_busy_port_is_its_own_line_and_exit_code_with_one_worker_or_several(workers: int, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"CONVTRACK_DATABASE_URL": f"sqlite:///{tmp_path / 'tracker.sqlite3'}"}
        done = run_installed("serve", "--port", str(port), "--workers", str(workers), cwd=tmp_path, env=env)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == PortInUse.exit_code != 3, done
    assert lines == [f"error: port {port} on 127.0.0.1 is in use (by another server?); stop it or choose another port"]


def test_config_shows_each_value_with_its_source_and_masks_the_password(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (clean_env / ".env").write_text(
        "# the service's settings\nCONVTRACK_REPORTS_DIR=from-dotenv\nCONVTRACK_API_WORKERS=3\n", encoding="utf-8"
    )
    monkeypatch.setenv("CONVTRACK_API_WORKERS", "2")  # the environment wins over .env
    monkeypatch.setenv("CONVTRACK_DATABSE_URL", "sqlite:///typo.sqlite3")  # no such setting
    monkeypatch.setenv("CONVTRACK_DATABASE_URL", "mysql+pymysql://tracker:s3cret@db.internal:3306/claims")
    argv = ["--api-port", "9001", "--legacy-url", "mysql+pymysql://old:pw2@legacy/claims", "config"]
    code, out, err = run_cli([*argv, "--json"], monkeypatch, capsys)
    assert code == 0 and not err, err
    shown = json.loads(out)
    assert {name: (row["value"], row["source"]) for name, row in shown.items() if row["source"] != "default"} == {
        "database_url": ("mysql+pymysql://tracker:***@db.internal:3306/claims", "env"),
        "legacy_url": ("mysql+pymysql://old:***@legacy/claims", "option"),
        "api_port": ("9001", "option"),
        "api_workers": ("2", "env"),
        "reports_dir": ("from-dotenv", ".env"),
    }
    assert shown["events_table"] == {
        "value": "stored_events",
        "source": "default",
        "env": "CONVTRACK_EVENTS_TABLE",
        "option": "--events-table",
    }
    code, out, _ = run_cli(argv, monkeypatch, capsys)
    assert code == 0 and "s3cret" not in out and "pw2" not in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:] if len(line.split()) == 3}
    assert rows["CONVTRACK_API_PORT"] == ["9001", "option"] and rows["CONVTRACK_REPORTS_DIR"] == ["from-dotenv", ".env"]
    assert "ignored: CONVTRACK_DATABSE_URL is set but is no setting" in out
    assert os.environ.get("CONVTRACK_API_PORT") is None, "a root option must not outlive its run"


def test_version_and_shell_completion_answer(tmp_path: Path) -> None:
    done = run_installed("--version", cwd=tmp_path, env={})
    assert (done.returncode, done.stdout.strip()) == (0, f"convtrack {version('conversion-tracker')}"), done
    script = run_installed("--show-completion", "bash", cwd=tmp_path, env={})
    assert script.returncode == 0 and "_CONVTRACK_COMPLETE=complete_bash" in script.stdout, script
    completed = subprocess.run(
        [CONVTRACK],
        env={**os.environ, "_CONVTRACK_COMPLETE": "complete_bash", "COMP_WORDS": "convtrack con", "COMP_CWORD": "1"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.stdout.split() == ["config", "conversion"], completed


def test_help_answers_whatever_the_settings(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONVTRACK_API_PORT", "abc")
    for argv in (["--help"], ["serve", "--help"]):
        code, out, err = run_cli(argv, monkeypatch, capsys)
        assert code == 0 and "Usage: convtrack" in out and not err, (argv, err)


def test_a_group_without_its_subcommand_shows_its_help_without_an_empty_error_line(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["queue"], monkeypatch, capsys)
    assert code == 2 and "enqueue" in out + err and "error:" not in out + err, (out, err)
