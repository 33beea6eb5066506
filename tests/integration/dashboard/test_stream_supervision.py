"""The live stream's two loops against a real Kafka: a failure in either is logged,
counted and restarted, fails /healthz while it keeps failing, and the stream relays
again once it works."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from prometheus_client import REGISTRY
from support.wait import eventually

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.service import add_probe_routes
from lookout_common.infra.supervise import Supervisor
from lookout_dashboard import stream

pytestmark = pytest.mark.integration


def restarts(loop: str) -> float:
    return REGISTRY.get_sample_value("lookout_loop_restarts_total", {"loop": loop}) or 0.0


async def test_failing_stream_loops_are_restarted_fail_healthz_and_relay_again(
    settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    metrics_broken = True

    async def metrics() -> str:
        if metrics_broken:
            raise RuntimeError("injected metrics bug")
        return json.dumps({"activeUsers": 3})

    loops = Supervisor(backoff_s=0.05, backoff_max_s=0.1, unhealthy_failures=3, stable_s=2.0)
    relay = stream.Relay(settings, metrics, tick_s=0.05, supervisor=loops)
    app = FastAPI()
    add_probe_routes(app, "dashboard-api", dict, loops=loops)
    caplog.set_level(logging.ERROR, logger="lookout.supervise")
    before = restarts("dashboard-stream-metrics"), restarts("dashboard-stream-kafka")
    watcher = relay.subscribe()
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    topic = topic_name(Topic.HEALTH_CHECKS, settings.topic_prefix)

    async def relayed(kind: str) -> str:
        while True:
            got, data = await asyncio.wait_for(watcher.queue.get(), 10)
            if got == kind:
                return data

    await relay.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://t"
        ) as client:

            async def healthz(status: int):
                answer = await client.get("/healthz")
                return answer if answer.status_code == status else None

            failing = await eventually(lambda: healthz(503), timeout=10, interval=0.02)
            assert failing.json()["failing_loops"] == ["dashboard-stream-metrics"]
            assert restarts("dashboard-stream-metrics") - before[0] >= 3
            metrics_broken = False
            assert json.loads(await relayed("metrics")) == {"activeUsers": 3}
            await eventually(lambda: healthz(200), timeout=10, interval=0.05)

            # Injected failure in the Kafka loop: relaying a record raises.
            def broken(value: bytes | None) -> str | None:
                raise RuntimeError("injected relay bug")

            monkeypatch.setattr(stream, "_one_line", broken)
            for number in range(3):
                # A consumer starting at "latest" may miss a record sent while it joins:
                # send until this restart is seen.
                async def restarted(n=number) -> bool:
                    await producer.send_and_wait(topic, json.dumps({"n": n}).encode())
                    await asyncio.sleep(0.2)
                    return restarts("dashboard-stream-kafka") - before[1] > n

                await eventually(restarted, timeout=30)
            assert (await client.get("/healthz")).json()["failing_loops"] == [
                "dashboard-stream-kafka"
            ]
            monkeypatch.undo()

            async def relayed_again() -> str | None:
                await producer.send_and_wait(topic, json.dumps({"n": 9}).encode())
                try:
                    return await asyncio.wait_for(relayed("check"), 0.5)
                except TimeoutError:
                    return None

            assert json.loads(await eventually(relayed_again, timeout=30)) == {"n": 9}
            await eventually(lambda: healthz(200), timeout=10, interval=0.05)
        failures = {r.loop: r for r in caplog.records if hasattr(r, "loop")}
        assert str(failures["dashboard-stream-metrics"].exc_info[1]) == "injected metrics bug"
        assert str(failures["dashboard-stream-kafka"].exc_info[1]) == "injected relay bug"
    finally:
        await relay.stop()
        await producer.stop()
