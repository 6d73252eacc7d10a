"""The one envelope of every list the tracker answers (HTTP and ``--json``)."""

from __future__ import annotations

from typing import Any


def page(rows: list[Any], limit: int, offset: int) -> dict[str, Any]:
    """The pagination envelope of ``rows``, read with ``limit + 1`` to know if more follow."""
    has_more = len(rows) > limit
    return {
        "items": rows[:limit],
        "limit": limit,
        "offset": offset,
        "next_offset": offset + limit if has_more else None,
        "has_more": has_more,
    }
