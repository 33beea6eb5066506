"""The loop supervisor: a failing loop is logged with its traceback, counted, restarted
with capped exponential backoff, and makes /healthz answer 503 while it keeps failing;
/healthz recovers once the loop runs cleanly again."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from lookout_common.infra.service import add_probe_routes
from lookout_common.infra.settings import LookoutSettings
from lookout_common.infra.supervise import Supervisor


def restarts(loop: str) -> float:
    return REGISTRY.get_sample_value("lookout_loop_restarts_total", {"loop": loop}) or 0.0


def failing_gauge(loop: str) -> float | None:
    return REGISTRY.get_sample_value("lookout_loop_failing", {"loop": loop})


class Flaky:
    """A loop that raises while `broken`, and otherwise counts its iterations forever."""

    def __init__(self) -> None:
        self.broken = True
        self.starts = 0
        self.iterations = 0

    async def __call__(self) -> None:
        self.starts += 1
        while True:
            if self.broken:
                raise RuntimeError("injected failure")
            self.iterations += 1
            await asyncio.sleep(0.01)


async def until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not met"
        await asyncio.sleep(0.01)


def test_backoff_doubles_and_is_capped() -> None:
    supervisor = Supervisor(backoff_s=0.5, backoff_max_s=3.0)
    assert [supervisor.delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 3.0, 3.0, 3.0]


def test_settings_configure_the_supervisor() -> None:
    settings = LookoutSettings(
        loop_backoff_s=0.2, loop_backoff_max_s=4, loop_unhealthy_failures=3, loop_stable_s=9
    )
    supervisor = Supervisor.from_settings(settings)
    assert (supervisor.backoff_s, supervisor.backoff_max_s) == (0.2, 4)
    assert (supervisor.unhealthy_failures, supervisor.stable_s) == (3, 9)


async def test_failing_loop_is_logged_counted_restarted_and_fails_healthz_until_it_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = Flaky()
    supervisor = Supervisor(backoff_s=0.01, backoff_max_s=0.02, unhealthy_failures=3, stable_s=1.0)
    app = FastAPI()
    add_probe_routes(app, "test-service", dict, loops=supervisor)
    before = restarts("unit-flaky")
    caplog.set_level(logging.ERROR, logger="lookout.supervise")
    async with (
        supervisor,
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
    ):
        healthy = await client.get("/healthz")
        assert (healthy.status_code, healthy.json()["status"]) == (200, "ok")

        supervisor.spawn("unit-flaky", loop)
        await until(lambda: loop.starts >= 4)
        assert restarts("unit-flaky") - before >= 3
        failed = [r for r in caplog.records if getattr(r, "loop", None) == "unit-flaky"]
        assert failed[0].getMessage() == "background loop failed; restarting"
        assert failed[0].exc_info[0] is RuntimeError  # the traceback is in the log
        assert len(failed) == restarts("unit-flaky") - before  # once per failure, no more

        answer = await client.get("/healthz")
        assert answer.status_code == 503
        assert answer.json() == {
            "status": "failing",
            "service": "test-service",
            "failing_loops": ["unit-flaky"],
        }
        assert failing_gauge("unit-flaky") == 1.0

        loop.broken = False
        await until(lambda: loop.iterations > 0)
        # Running, but not yet for stable_s: still failing.
        assert (await client.get("/healthz")).status_code == 503
        await asyncio.sleep(1.05)
        recovered = await client.get("/healthz")
        assert (recovered.status_code, recovered.json()["failing_loops"]) == (200, [])
        assert failing_gauge("unit-flaky") == 0.0
        iterations = loop.iterations
        await asyncio.sleep(0.05)
        assert loop.iterations > iterations  # the loop works again
    assert failing_gauge("unit-flaky") is None  # stopped loops are forgotten


async def test_a_few_failures_below_the_threshold_keep_healthz_green() -> None:
    loop = Flaky()
    supervisor = Supervisor(backoff_s=0.01, unhealthy_failures=5, stable_s=10)
    async with supervisor:
        supervisor.spawn("unit-blip", loop)
        await until(lambda: loop.starts >= 3)
        loop.broken = False
        await until(lambda: loop.iterations > 0)
        assert supervisor.failing() == []


async def test_a_loop_that_returns_is_restarted_too(caplog: pytest.LogCaptureFixture) -> None:
    runs = 0

    async def returns() -> None:
        nonlocal runs
        runs += 1

    before = restarts("unit-returns")
    caplog.set_level(logging.ERROR, logger="lookout.supervise")
    async with Supervisor(backoff_s=0.01, unhealthy_failures=2) as supervisor:
        supervisor.spawn("unit-returns", returns)
        await until(lambda: runs >= 3)
        assert supervisor.failing() == ["unit-returns"]
    assert restarts("unit-returns") - before >= 2
    assert any(
        r.getMessage() == "background loop ended unexpectedly; restarting" for r in caplog.records
    )


async def test_failures_spread_over_long_clean_runs_never_fail_healthz() -> None:
    supervisor = Supervisor(backoff_s=0.01, unhealthy_failures=2, stable_s=0.05)
    runs = 0

    async def fails_after_a_while() -> None:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.08)  # longer than stable_s: each failure starts a new streak
        raise ConnectionResetError("rare failure")

    async with supervisor:
        supervisor.spawn("unit-rare", fails_after_a_while)
        await until(lambda: runs >= 4)
        assert supervisor.loops["unit-rare"].failures == 1
        assert supervisor.failing() == []


async def test_a_replaced_loop_keeps_its_name_and_a_cancelled_one_is_forgotten() -> None:
    loop = Flaky()
    loop.broken = False
    async with Supervisor() as supervisor:
        first = supervisor.spawn("unit-check", loop)
        first.cancel()
        second = supervisor.spawn("unit-check", loop)  # a reload replaces it at once
        await asyncio.gather(first, return_exceptions=True)
        assert "unit-check" in supervisor.loops
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
        assert "unit-check" not in supervisor.loops
