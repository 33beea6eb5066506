"""The SQL of location verdicts: the quorum lock and each location's failing or passing
verdict per check."""

from __future__ import annotations

import asyncpg


async def lock_check(connection: asyncpg.Connection, check: str) -> None:
    """Take the check's quorum lock until the end of the transaction: locations deciding
    about one check take turns, so the later one always counts the earlier one's verdict."""
    await connection.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('lookout.quorum.' || $1, 0))", check
    )


async def record_verdict(
    connection: asyncpg.Connection, check: str, location: str, *, failing: bool
) -> None:
    """This location's verdict on the check, as of now (`since` moves only when it changes)."""
    await connection.execute(
        """
        INSERT INTO health_location_verdicts AS v (check_name, location, failing, since, updated_at)
        VALUES ($1, $2, $3, now(), now())
        ON CONFLICT (check_name, location) DO UPDATE SET
            failing = excluded.failing,
            since = CASE WHEN v.failing = excluded.failing THEN v.since ELSE excluded.since END,
            updated_at = excluded.updated_at
        """,
        check,
        location,
        failing,
    )


async def failing_locations(connection: asyncpg.Connection, check: str, window_s: float) -> int:
    """How many locations have a failing verdict on the check updated within the window."""
    count: int = await connection.fetchval(
        """
        SELECT count(*) FROM health_location_verdicts
        WHERE check_name = $1 AND failing AND updated_at >= now() - make_interval(secs => $2)
        """,
        check,
        window_s,
    )
    return count


async def failing_checks(connection: asyncpg.Connection | asyncpg.Pool, location: str) -> set[str]:
    """The checks this location last saw failing (its state after a restart)."""
    rows = await connection.fetch(
        "SELECT check_name FROM health_location_verdicts WHERE location = $1 AND failing",
        location,
    )
    return {row["check_name"] for row in rows}
