"""Conversions: record, reverse, list, totals."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from domain import commands
from domain.values import INT_MAX, INT_MIN, VARCHAR_MAX_CHARS, check_datetime
from infrastructure.api.command_routes import add_command_route
from infrastructure.api.deps import Limit, Offset, Reads, query
from infrastructure.api.responses import ConversionPage, TotalsPage
from infrastructure.api.schemas import MOMENT

router = APIRouter(prefix="/api/conversions")
add_command_route(router, "", commands.RecordConversion, name="record_conversion")
add_command_route(router, "/{conversion_id}/reverse", commands.ReverseConversion, name="reverse_conversion")


@query(router, "", ConversionPage, "list_conversions")
def list_conversions(
    model: Reads,
    agent_id: Annotated[int | None, Query(ge=INT_MIN, le=INT_MAX)] = None,
    conversion_type: Annotated[str | None, Query(max_length=VARCHAR_MAX_CHARS)] = None,
    since: Annotated[MOMENT | None, Query()] = None,
    until: Annotated[MOMENT | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Conversions, newest first, filtered by agent, type and [since, until); one page."""
    return model.conversions(
        agent_id=agent_id,
        conversion_type=conversion_type,
        since=None if since is None else check_datetime("since", since),
        until=None if until is None else check_datetime("until", until),
        limit=limit,
        offset=offset,
    )


@query(router, "/totals", TotalsPage, "conversion_totals")
def conversion_totals(model: Reads, limit: Limit = 50, offset: Offset = 0) -> dict[str, Any]:
    """Conversion count and exact money totals per primary agent, by agent id; one page."""
    return model.totals_per_agent(limit, offset)
