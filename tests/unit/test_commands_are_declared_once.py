"""Every command is declared once: its HTTP body and path, its CLI options and its
idempotency fingerprint all come from the dataclass in domain/commands.py."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import typer

from domain import commands
from domain.errors import InvalidValue
from infrastructure.api.app import create_app
from infrastructure.cli.service_commands import COMMAND_LINES
from infrastructure.settings import Settings

PYTHON_ONLY = {commands.AdjustScore}  # no HTTP route or CLI line, on purpose (docs/api.md)


def field_names(command_type: type[commands.Command]) -> set[str]:
    return {name for name, _, _ in command_type.specs()}


def openapi_operations() -> dict[str, dict[str, Any]]:
    document = create_app(Settings(database_url="sqlite://")).openapi()
    return {
        op["operationId"]: {"op": op, "schemas": document["components"]["schemas"]}
        for ops in document["paths"].values()
        for op in ops.values()
    }


def http_fields(operation: dict[str, Any]) -> tuple[str, set[str]]:
    op, schemas = operation["op"], operation["schemas"]
    reference = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_name = reference.rsplit("/", 1)[1]
    paths = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
    return body_name, set(schemas[body_name]["properties"]) | paths


def test_every_http_command_body_and_path_name_exactly_the_dataclass_fields() -> None:
    seen: set[type[commands.Command]] = set()
    for operation in openapi_operations().values():
        if "requestBody" not in operation["op"]:
            continue
        body_name, names = http_fields(operation)
        command_type = getattr(commands, body_name)
        assert names == field_names(command_type), body_name
        seen.add(command_type)
    assert seen == set(commands.COMMANDS) - PYTHON_ONLY


def test_every_cli_command_names_exactly_the_dataclass_fields_plus_key_and_json() -> None:
    seen = set()
    for group, name, command_type in COMMAND_LINES:
        click_group = typer.main.get_group(group)
        cli_command = click_group.commands[name]
        names = {p.name for p in cli_command.params}
        assert names == field_names(command_type) | {"idempotency_key", "as_json"}, name
        seen.add(command_type)
    assert seen == set(commands.COMMANDS) - PYTHON_ONLY


def test_the_fingerprint_of_a_retried_request_is_what_the_service_computed_before_commands_were_objects() -> None:
    # hashes computed by the service layer as it was before commit ee05de2: idempotency
    # records stored then must still match a retry sent now
    conversion = commands.RecordConversion(
        user_id=10005,
        conversion_type="signed",
        conversion_reason="door — “yes”",
        primary_agent_id=7,
        documents_received=["id", {"n": 1}],
        signature_obtained=True,
        claim_value=Decimal("1250.00"),
        estimated_commission="125.50",
        converted_at=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    )
    callback = commands.ScheduleCallback(entry_id="e-1", scheduled_for=datetime(2027, 1, 2, 3, 4, 5, 678000))
    assert conversion.fingerprint() == "75660b4021249dbf93eb484c7e328eb9b0687c1dcd856ffc6766617d01a4492c"
    assert callback.fingerprint() == "99d4bff86825a30bda284948bb9de21dd79b8f9fa15dd73cd7fbde506837c202"


@pytest.mark.parametrize(
    ("command_type", "values", "field"),
    [
        (commands.RecordCallAttempt, {"user_id": 2**63, "agent_id": 1, "outcome": "busy"}, "user_id"),
        (commands.RecordCallAttempt, {"user_id": 1, "agent_id": 1, "outcome": "  "}, "outcome"),
        (commands.Enqueue, {"user_id": 1, "queue_type": "callback"}, "queue_type"),
        (commands.RecordConversion, {"user_id": 1, "conversion_type": "x", "claim_value": 1.5}, "claim_value"),
        (
            commands.RecordConversion,
            {"user_id": 1, "conversion_type": "x", "signature_obtained": 1},
            "signature_obtained",
        ),
        (commands.ReverseConversion, {"conversion_id": "c", "reason": " "}, "reason"),
        (
            commands.ScheduleCallback,
            {"entry_id": "e", "scheduled_for": datetime.fromisoformat("0001-01-01T00:01:00+01:00")},
            "scheduled_for",
        ),
    ],
)
def test_a_command_with_a_bad_value_cannot_be_made_and_names_the_field(
    command_type: type[commands.Command], values: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        command_type(**values)
    assert refused.value.field == field
