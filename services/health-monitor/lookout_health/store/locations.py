"""The SQL of location verdicts: the quorum lock and each location's failing or passing
verdict per check."""

from __future__ import annotations

from typing import NamedTuple

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


class CurrentVerdicts(NamedTuple):
    """The verdicts on a check updated within the window: how many are failing, and the
    first of their locations by name (the one that counts the check's uptime)."""

    failing: int
    first_location: str | None


async def current_verdicts(
    connection: asyncpg.Connection, check: str, window_s: float
) -> CurrentVerdicts:
    """The check's verdicts updated within the window (older ones are stale: they count
    for nothing)."""
    row = await connection.fetchrow(
        """
        SELECT count(*) FILTER (WHERE failing) AS failing, min(location) AS first_location
        FROM health_location_verdicts
        WHERE check_name = $1 AND updated_at >= now() - make_interval(secs => $2)
        """,
        check,
        window_s,
    )
    return CurrentVerdicts(row["failing"], row["first_location"])


async def failing_checks(connection: asyncpg.Connection | asyncpg.Pool, location: str) -> set[str]:
    """The checks this location last saw failing (its state after a restart)."""
    rows = await connection.fetch(
        "SELECT check_name FROM health_location_verdicts WHERE location = $1 AND failing",
        location,
    )
    return {row["check_name"] for row in rows}
