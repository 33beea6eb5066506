"""What health monitors in other locations store of a check, written straight into the
shared tables, for tests of what is read and shown per location."""

from __future__ import annotations

import asyncpg


async def seen_from(dsn: str, check: str, seen: dict[str, tuple[str, bool]]) -> None:
    """Per location in `seen`: `check`'s newest result with that status (message
    "seen from <location>") and the location's quorum verdict, failing or not, changed
    five minutes ago."""
    connection = await asyncpg.connect(dsn)
    try:
        for location, (status, failing) in seen.items():
            await connection.execute(
                "INSERT INTO system_health_logs (check_name, kind, status, response_time_ms,"
                " message, critical, checked_at, location)"
                " VALUES ($1, 'postgres', $2, 12.5, $3, true, now(), $4)",
                check,
                status,
                f"seen from {location}",
                location,
            )
            await connection.execute(
                "INSERT INTO health_location_verdicts (check_name, location, failing, since,"
                " updated_at) VALUES ($1, $2, $3, now() - interval '5 minutes', now())",
                check,
                location,
                failing,
            )
    finally:
        await connection.close()
