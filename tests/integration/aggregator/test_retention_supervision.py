"""The raw-event retention loop against a real Postgres, under the aggregator's supervisor:
a run that raises (a day partition whose name is no date) is logged, counted and
restarted, fails /healthz while it keeps failing, and retention works again after."""

from __future__ import annotations

import functools
import logging

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from support.wait import eventually

from lookout_aggregator.retention import run_retention
from lookout_common.infra.service import add_probe_routes
from lookout_common.infra.supervise import Supervisor

pytestmark = pytest.mark.integration


async def test_a_failing_retention_run_is_restarted_fails_healthz_and_recovers(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    # Injected failure: a partition named like a day that is no date (month 13).
    await pool.execute(
        "CREATE TABLE user_analytics_20241301 PARTITION OF user_analytics"
        " FOR VALUES FROM ('2300-01-01') TO ('2300-01-02')"
    )
    await pool.execute("SELECT lookout_ensure_event_partition('2001-01-01')")
    loops = Supervisor(backoff_s=0.05, backoff_max_s=0.1, unhealthy_failures=3, stable_s=0.5)
    app = FastAPI()
    add_probe_routes(app, "analytics-aggregator", dict, loops=loops)
    labels = {"loop": "aggregator-retention"}
    before = REGISTRY.get_sample_value("lookout_loop_restarts_total", labels) or 0.0
    caplog.set_level(logging.ERROR, logger="lookout.supervise")
    try:
        async with (
            loops,
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
        ):
            loops.spawn("aggregator-retention", functools.partial(run_retention, pool, 30, 0.05))

            async def healthz(status: int):
                answer = await client.get("/healthz")
                return answer if answer.status_code == status else None

            failing = await eventually(lambda: healthz(503), timeout=10, interval=0.02)
            assert failing.json()["failing_loops"] == ["aggregator-retention"]
            assert REGISTRY.get_sample_value("lookout_loop_restarts_total", labels) - before >= 3
            logged = [r for r in caplog.records if getattr(r, "loop", "") == "aggregator-retention"]
            assert logged[0].exc_info[0] is ValueError

            await pool.execute("DROP TABLE user_analytics_20241301")

            async def old_day_dropped() -> bool:
                return await pool.fetchval("SELECT to_regclass('user_analytics_20010101') IS NULL")

            await eventually(old_day_dropped, timeout=10)
            await eventually(lambda: healthz(200), timeout=10, interval=0.05)
    finally:
        await pool.close()
