"""The SQL of location verdicts: the quorum lock and each location's failing or passing
verdict per check. A verdict not updated within the quorum window is stale: it counts for
nothing, and retention deletes it once it is older than a day beyond the window."""

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


async def failing_checks(
    connection: asyncpg.Connection | asyncpg.Pool, location: str, window_s: float
) -> set[str]:
    """The checks this location last saw failing within the window (its state after a
    restart; a stale verdict restores nothing)."""
    rows = await connection.fetch(
        """
        SELECT check_name FROM health_location_verdicts
        WHERE location = $1 AND failing AND updated_at >= now() - make_interval(secs => $2)
        """,
        location,
        window_s,
    )
    return {row["check_name"] for row in rows}


async def stale_verdicts(
    connection: asyncpg.Connection | asyncpg.Pool, checks: list[str], window_s: float
) -> set[tuple[str, str]]:
    """(check, location) of the checks' verdicts not updated within the window: a location
    that stopped running them (decommissioned, renamed). They count for nothing and are
    listed as stale until `prune_verdicts` deletes them."""
    rows = await connection.fetch(
        """
        SELECT check_name, location FROM health_location_verdicts
        WHERE check_name = ANY($1::text[]) AND updated_at < now() - make_interval(secs => $2)
        """,
        checks,
        window_s,
    )
    return {(row["check_name"], row["location"]) for row in rows}


async def prune_verdicts(connection: asyncpg.Connection | asyncpg.Pool, kept_s: float) -> int:
    """Delete the verdicts not updated for `kept_s`; how many went."""
    result = await connection.execute(
        "DELETE FROM health_location_verdicts WHERE updated_at < now() - make_interval(secs => $1)",
        kept_s,
    )
    return int(result.split()[-1])
