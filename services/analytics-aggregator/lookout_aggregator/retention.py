"""Raw-event retention: whole day partitions of `user_analytics` older than
LOOKOUT_EVENTS_RETENTION_DAYS are dropped, with the funnels' packed step times of those
days (step_times); rollups and per-person state are kept.

Dropping a partition is instant and leaves no dead rows, unlike a DELETE of the same
rows. The event-id ledger keeps ids `LEDGER_GRACE` longer than the raw rows, so a
late redelivery of a dropped event is still recognised and not counted again.
Replicas serialise on an advisory lock; whoever holds it does the work.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, date, datetime, timedelta

import asyncpg
from prometheus_client import Counter

from lookout_common.infra.leader import lock_id

log = logging.getLogger("lookout.aggregator.retention")

LEDGER_GRACE = timedelta(days=30)
_PARTITION = re.compile(r"^user_analytics_(\d{8})$")
RETENTION_LOCK = lock_id("lookout-events-retention")

DROPPED = Counter(
    "lookout_aggregator_partitions_dropped_total", "Raw-event day partitions dropped by retention"
)


def cutoff_day(now: datetime, keep_days: int) -> date:
    """The first UTC day kept: partitions for days before it are dropped."""
    return (now.astimezone(UTC) - timedelta(days=keep_days)).date()


async def day_partitions(connection: asyncpg.Connection) -> dict[date, str]:
    rows = await connection.fetch(
        """
        SELECT child.relname AS name FROM pg_inherits
        JOIN pg_class AS parent ON parent.oid = pg_inherits.inhparent
        JOIN pg_class AS child ON child.oid = pg_inherits.inhrelid
        WHERE parent.relname = 'user_analytics'
        """
    )
    found = {}
    for row in rows:
        if match := _PARTITION.match(row["name"]):
            found[datetime.strptime(match[1], "%Y%m%d").date()] = row["name"]
    return found


async def drop_expired(
    pool: asyncpg.Pool, keep_days: int, now: datetime | None = None
) -> list[str]:
    """Drop the day partitions older than `keep_days`; returns their names (oldest first)."""
    first_kept = cutoff_day(now or datetime.now(UTC), keep_days)
    dropped: list[str] = []
    async with pool.acquire() as connection:
        if not await connection.fetchval("SELECT pg_try_advisory_lock($1)", RETENTION_LOCK):
            return dropped  # another replica is at it
        try:
            partitions = await day_partitions(connection)
            for day in sorted(day for day in partitions if day < first_kept):
                # A name matched by our own pattern (digits only), never user input. The
                # drop locks the parent briefly, as a new day's partition does.
                await connection.execute(f'DROP TABLE IF EXISTS "{partitions[day]}"')
                dropped.append(partitions[day])
                DROPPED.inc()
            # Also days whose partition never existed or went before migration 0019.
            await connection.execute("DELETE FROM step_times WHERE day < $1", first_kept)
            ledger_cutoff = datetime.combine(first_kept, datetime.min.time(), UTC) - LEDGER_GRACE
            await connection.execute("DELETE FROM event_ids WHERE occurred_at < $1", ledger_cutoff)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", RETENTION_LOCK)
    if dropped:
        log.info("raw-event partitions dropped", extra={"partitions": dropped})
    return dropped


async def run_retention(pool: asyncpg.Pool, keep_days: int, interval_s: float) -> None:
    """Forever: drop expired partitions, then wait; a failed run is logged and retried."""
    while True:
        try:
            await drop_expired(pool, keep_days)
        except (asyncpg.PostgresError, OSError) as error:
            log.warning("retention run failed; will retry", extra={"error": repr(error)})
        await asyncio.sleep(interval_s)
