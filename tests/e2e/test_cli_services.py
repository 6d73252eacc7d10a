"""The agents' commands from the command line: same rules and messages as the API."""

from __future__ import annotations

import json

import pytest

from domain.lifecycle import Phase
from tests.support.db_state import event_count
from tests.support.lifecycle import bring_to
from tests.support.processes import run_convtrack


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


@pytest.mark.slow
def test_commands_print_json_and_bad_input_is_one_line_a_nonzero_exit_and_no_write(sqlite_url: str) -> None:
    bring_to(sqlite_url, Phase.CUT_OVER)  # the agents' commands belong to a cut-over tracker
    enqueued = run_convtrack(
        sqlite_url,
        "queue",
        "enqueue",
        "--user-id",
        "42",
        "--queue-type",
        "unsigned_users",
        "--reason",
        "tab\tand ‘quotes’",
        "--json",
    )
    assert enqueued.returncode == 0, enqueued.stderr
    entry = json.loads(enqueued.stdout)["ids"]["entry_id"]
    before = event_count(sqlite_url)
    for args, code, words in [
        (("queue", "enqueue", "--user-id", "x", "--queue-type", "unsigned_users"), 2, "--user-id"),
        (("queue", "enqueue", "--user-id", "1", "--queue-type", "callback"), 2, "queue_type"),
        (
            ("conversion", "record", "--user-id", "42", "--conversion-type", "signed", "--claim-value", "1.001"),
            2,
            "claim_value",
        ),
        (
            ("conversion", "record", "--user-id", "42", "--conversion-type", "signed", "--documents-received", "{"),
            2,
            "documents_received",
        ),
        (("queue", "complete", "no-such-entry"), 3, "no-such-entry"),
        (
            ("call", "record", "--user-id", "42", "--agent-id", "1", "--outcome", "x", "--called-at", "yesterday"),
            2,
            "called_at",
        ),
    ]:
        done = run_convtrack(sqlite_url, *args)
        assert done.returncode == code, (args, done.returncode, done.stderr)
        lines = error_lines(done.stderr)
        assert len(lines) == 1 and lines[0].startswith("error:") and words in lines[0], (args, done.stderr)
    assert event_count(sqlite_url) == before, "nothing written by refused commands"

    first = run_convtrack(
        sqlite_url,
        "conversion",
        "record",
        "--user-id",
        "42",
        "--conversion-type",
        "signed",
        "--claim-value",
        "10.50",
        "--idempotency-key",
        "k1",
        "--json",
    )
    again = run_convtrack(
        sqlite_url,
        "conversion",
        "record",
        "--user-id",
        "42",
        "--conversion-type",
        "signed",
        "--claim-value",
        "10.50",
        "--idempotency-key",
        "k1",
        "--json",
    )
    assert json.loads(again.stdout)["replayed"] is True
    assert json.loads(again.stdout)["ids"] == json.loads(first.stdout)["ids"]
    assert entry in json.loads(first.stdout)["ids"]["completed_entries"]
    twice = run_convtrack(sqlite_url, "conversion", "record", "--user-id", "42", "--conversion-type", "signed")
    assert twice.returncode == 4 and "already has active conversion" in twice.stderr
