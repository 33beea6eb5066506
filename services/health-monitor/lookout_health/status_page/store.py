"""The SQL the status page reads: the incidents of its window."""

from __future__ import annotations

from datetime import datetime

import asyncpg


async def incidents_since(
    connection: asyncpg.Connection | asyncpg.Pool, since: datetime, limit: int = 500
) -> list[asyncpg.Record]:
    """Open incidents and those resolved since `since`, newest first."""
    return await connection.fetch(
        """
        SELECT * FROM incidents
        WHERE resolved_at IS NULL OR resolved_at >= $1
        ORDER BY opened_at DESC LIMIT $2
        """,
        since,
        limit,
    )
