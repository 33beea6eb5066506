"""Raw-event retention drops whole day partitions and keeps every rollup."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from support.events import event, store
from support.services import settings_env
from support.wait import eventually

from lookout_aggregator.retention import drop_expired
from lookout_common.infra.settings import LookoutSettings

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)


def _partition(days_ago: int) -> str:
    return f"user_analytics_{(NOW - timedelta(days=days_ago)):%Y%m%d}"


async def _state(connection: asyncpg.Connection) -> dict[str, object]:
    partitions = await connection.fetch(
        "SELECT inhrelid::regclass::text AS name FROM pg_inherits "
        "WHERE inhparent = 'user_analytics'::regclass ORDER BY 1"
    )
    return {
        "partitions": [row["name"] for row in partitions],
        "raw": await connection.fetchval("SELECT count(*) FROM user_analytics"),
        "ledger": await connection.fetchval("SELECT count(*) FROM event_ids"),
        "counted": await connection.fetchval("SELECT sum(events) FROM rollup_event_counts"),
        "actives": await connection.fetchval(
            "SELECT sum(actives) FROM rollup_active_totals WHERE period = 'day'"
        ),
    }


async def _seed(database_url: str) -> None:
    await store(
        database_url,
        [
            event(
                "page_view", NOW - timedelta(days=days), user=f"u{days}", properties={"path": "/"}
            )
            for days in (40, 10, 10, 3, 0)
        ],
    )


async def test_old_day_partitions_are_dropped_and_rollups_kept(database_url: str) -> None:
    await _seed(database_url)
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        dropped = await drop_expired(pool, keep_days=5, now=NOW)
        assert dropped == [_partition(40), _partition(10)]
        async with pool.acquire() as connection:
            state = await _state(connection)
        assert state["partitions"] == [_partition(3), _partition(0)]
        assert state["raw"] == 2
        # Rollups keep every event; the ledger forgets only ids older than its grace
        # (5 + 30 days): the 40-day-old event's id.
        assert state["counted"] == 5
        assert state["actives"] == 4  # u40, u10 (two events, one day), u3, u0
        assert state["ledger"] == 4
        assert await drop_expired(pool, keep_days=5, now=NOW) == []
    finally:
        await pool.close()


async def test_the_aggregator_runs_retention_on_its_own(
    settings: LookoutSettings, service_factory
) -> None:
    await _seed(settings.database_url.get_secret_value())
    service_factory(
        "lookout_aggregator",
        settings_env(
            settings, LOOKOUT_EVENTS_RETENTION_DAYS="5", LOOKOUT_RETENTION_INTERVAL_S="0.5"
        ),
    )
    connection = await asyncpg.connect(settings.database_url.get_secret_value())
    try:

        async def dropped() -> bool:
            return (await _state(connection))["partitions"] == [_partition(3), _partition(0)]

        await eventually(dropped, timeout=30)
        assert (await _state(connection))["counted"] == 5
    finally:
        await connection.close()
