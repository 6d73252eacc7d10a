"""Call attempts."""

from __future__ import annotations

from fastapi import APIRouter

from domain import commands
from infrastructure.api.command_routes import add_command_route

router = APIRouter(prefix="/api/call-attempts")
add_command_route(router, "", commands.RecordCallAttempt, name="record_call_attempt")
