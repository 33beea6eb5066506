"""A heartbeat ping costs its caller one insert: the check's run that judges it happens
after the answer, so a ping is answered even while that run is held up (here by a lock on
`incidents`, which the run reads and the ping never touches). Against a real Postgres,
with the route in-process."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from lookout_health.bootstrap import get_monitor, get_pool
from lookout_health.config import HealthConfig, HeartbeatCheck
from lookout_health.monitor import Monitor
from lookout_health.routes import heartbeats

pytestmark = pytest.mark.integration

TOKEN = "hb-route-0123456789abcdef"


async def test_a_ping_is_answered_before_the_run_that_judges_it(pool) -> None:
    monitor = Monitor(pool, None, "test")
    monitor.apply(
        HealthConfig(
            checks=[
                HeartbeatCheck(name="nightly-export", kind="heartbeat", period_s=3600, token=TOKEN)
            ]
        )
    )
    app = FastAPI()
    app.include_router(heartbeats.router)
    app.dependency_overrides[get_pool] = lambda: pool
    app.dependency_overrides[get_monitor] = lambda: monitor
    transport = httpx.ASGITransport(app=app)
    blocker = await pool.acquire()
    held = blocker.transaction()
    await held.start()
    try:
        await blocker.execute("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE")
        async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as client:
            # A guard, not a measurement: run inside the request, this would wait forever.
            async with asyncio.timeout(20):
                answer = await client.get(
                    "/api/v1/health/heartbeats/nightly-export",
                    params={"token": TOKEN, "status": "fail", "message": "disk full"},
                )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "fail"
        assert await pool.fetchval("SELECT count(*) FROM system_health_logs") == 0
    finally:
        await held.rollback()
        await pool.release(blocker)
    try:
        # Once the run may go on, it judges the ping: the failure opens the incident.
        for _ in range(200):
            opened = await pool.fetchval(
                "SELECT message FROM incidents WHERE check_name = 'nightly-export'"
            )
            if opened:
                break
            await asyncio.sleep(0.05)
        assert opened is not None
        assert "disk full" in opened
    finally:
        await monitor.stop()


async def test_get_and_post_take_the_token_and_ping_the_same_way(pool) -> None:
    monitor = Monitor(pool, None, "test")
    monitor.apply(
        HealthConfig(
            checks=[HeartbeatCheck(name="queue-worker", kind="heartbeat", period_s=60, token=TOKEN)]
        )
    )
    app = FastAPI()
    app.include_router(heartbeats.router)
    app.dependency_overrides[get_pool] = lambda: pool
    app.dependency_overrides[get_monitor] = lambda: monitor
    url = "/api/v1/health/heartbeats/queue-worker"
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://monitor"
        ) as client:
            bearer = {"Authorization": f"Bearer {TOKEN}"}
            by_query = await client.post(url, params={"token": TOKEN, "status": "fail"})
            by_body = await client.post(url, headers=bearer, json={"status": "ok", "message": "x"})
            by_get = await client.get(url, headers=bearer, params={"message": "nightly done"})
            wrong = await client.get(url, params={"token": "not-the-token-at-all"})
            hostile = await client.get(url, headers=bearer, params={"message": "a\nb"})
    finally:
        await monitor.stop()
    assert [r.json()["status"] for r in (by_query, by_body, by_get)] == ["fail", "ok", "ok"]
    assert wrong.status_code == 401
    assert hostile.status_code == 422
    assert hostile.json()["detail"][0]["loc"] == ["query", "message"]
    assert (
        await pool.fetchval(
            "SELECT last_message FROM health_heartbeats WHERE check_name = 'queue-worker'"
        )
        == "nightly done"
    )
