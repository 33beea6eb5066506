"""Location verdicts that stopped being updated (a decommissioned or renamed location)
against a real Postgres: stale after the quorum window, they count for nothing, are
listed as stale, and retention deletes them a day later."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest

from lookout_common.infra.supervise import Supervisor
from lookout_health.quorum import Quorum
from lookout_health.rollups import RollupWriter
from lookout_health.store import locations as location_store

pytestmark = pytest.mark.integration

WINDOW_S = 300.0


async def verdict(
    pool: asyncpg.Pool, check: str, location: str, failing: bool, age: timedelta
) -> None:
    """A verdict last updated `age` ago (by Postgres' clock)."""
    await pool.execute(
        "INSERT INTO health_location_verdicts (check_name, location, failing, since, updated_at)"
        " VALUES ($1, $2, $3, now() - $4::interval, now() - $4::interval)",
        check,
        location,
        failing,
        age,
    )


async def test_a_stale_verdict_counts_for_nothing_and_is_listed_as_stale(
    pool: asyncpg.Pool,
) -> None:
    await verdict(pool, "checkout", "jakarta", True, timedelta(minutes=1))
    await verdict(pool, "checkout", "old-dc", True, timedelta(minutes=6))  # stopped running
    await verdict(pool, "checkout", "a-renamed", False, timedelta(hours=2))
    await verdict(pool, "search", "old-dc", True, timedelta(days=1))
    async with pool.acquire() as connection:
        current = await location_store.current_verdicts(connection, "checkout", WINDOW_S)
    # Only jakarta is current: one failing location, and it counts the uptime.
    assert current == location_store.CurrentVerdicts(failing=1, first_location="jakarta")
    # After a restart, old-dc would not take its stale failure back.
    assert await location_store.failing_checks(pool, "old-dc", WINDOW_S) == set()
    assert await location_store.failing_checks(pool, "jakarta", WINDOW_S) == {"checkout"}
    stale = await location_store.stale_verdicts(pool, ["checkout", "search"], WINDOW_S)
    assert stale == {("checkout", "old-dc"), ("checkout", "a-renamed"), ("search", "old-dc")}
    assert await location_store.stale_verdicts(pool, ["checkout"], 3 * 3600.0) == set()


async def test_retention_deletes_verdicts_a_day_after_they_went_stale(
    pool: asyncpg.Pool,
) -> None:
    await verdict(pool, "checkout", "jakarta", False, timedelta(minutes=1))
    await verdict(pool, "checkout", "old-dc", True, timedelta(minutes=6))
    await verdict(pool, "checkout", "gone", True, timedelta(days=1, minutes=6))
    await verdict(pool, "search", "gone", False, timedelta(days=30))
    quorum = Quorum(location="jakarta", quorum=2, window_s=WINDOW_S)
    assert quorum.verdicts_kept_s == WINDOW_S + 86400
    writer = RollupWriter(pool, Supervisor(), quorum.verdicts_kept_s)
    await writer.prune(await pool.fetchval("SELECT now()"))
    rows = await pool.fetch(
        "SELECT check_name, location FROM health_location_verdicts ORDER BY location"
    )
    assert [(row["check_name"], row["location"]) for row in rows] == [
        ("checkout", "jakarta"),
        ("checkout", "old-dc"),
    ]
