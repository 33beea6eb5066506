"""The monitor's result publisher against a real Kafka: a failure while publishing is
logged, counted and restarted, fails /healthz while it keeps failing, and results reach
health.checks.v1 again afterwards."""

from __future__ import annotations

import asyncio
import json

import pytest
from prometheus_client import REGISTRY
from support.wait import eventually

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.db import create_pool
from lookout_common.infra.kafka import make_broker
from lookout_common.infra.supervise import Supervisor
from lookout_health.feed import KafkaFeed

pytestmark = pytest.mark.integration


async def test_a_failing_result_publisher_is_restarted_and_publishes_again(
    settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = await create_pool(settings)
    broker = make_broker(settings, client_id="feed-supervision-test")
    await broker.start()
    checks_topic = topic_name(Topic.HEALTH_CHECKS, settings.topic_prefix)
    incidents_topic = topic_name(Topic.HEALTH_INCIDENTS, settings.topic_prefix)
    failures = 3
    publish = broker.publish
    acked: list[dict] = []  # what Kafka acknowledged (acks=all)

    async def failing_publish(body: bytes, topic: str, **kwargs):
        nonlocal failures
        if failures:
            failures -= 1
            raise RuntimeError("injected publish bug")
        answer = await publish(body, topic, **kwargs)
        acked.append(json.loads(body))
        return answer

    monkeypatch.setattr(broker, "publish", failing_publish)
    labels = {"loop": "health-feed-results"}
    before = REGISTRY.get_sample_value("lookout_loop_restarts_total", labels) or 0.0
    loops = Supervisor(backoff_s=0.02, backoff_max_s=0.05, unhealthy_failures=3, stable_s=1.0)
    feed = KafkaFeed(broker, pool, incidents_topic, loops)
    feed.start()
    try:

        async def published_again() -> bool:
            feed.result(checks_topic, "auth", json.dumps({"attempt": 3 - failures}))
            await asyncio.sleep(0.05)
            return failures == 0

        await eventually(published_again, timeout=10)
        # Three failures in a row, and not yet a clean second since.
        assert loops.failing() == ["health-feed-results"]
        feed.result(checks_topic, "auth", json.dumps({"attempt": "after"}))
        # Results flow again; the ones taken while failing were dropped (best effort).
        await eventually(lambda: asyncio.sleep(0, {"attempt": "after"} in acked), timeout=30)
        await eventually(lambda: asyncio.sleep(0, not loops.failing()), timeout=10)
        after = REGISTRY.get_sample_value("lookout_loop_restarts_total", labels)
        assert after - before == 3
    finally:
        await feed.stop()
        await loops.stop()
        await broker.stop()
        await pool.close()
