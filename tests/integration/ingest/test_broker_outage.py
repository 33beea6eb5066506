"""Ingest with its broker stopped: 503 with Retry-After, then accepting again once the
broker is back, and nothing it acknowledged is missing from Postgres.

The test owns its broker (an embedded Tansu it can stop and start on the same port)
because the suite's shared broker must stay up for every other test.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest
from support.resolve import scratch_dir
from support.services import settings_env

from lookout_common.infra.apikeys import Role, create_key
from lookout_common.infra.kafka import ensure_topics
from lookout_common.infra.settings import LookoutSettings
from lookout_devstack.embedded.kafka import EmbeddedKafka

pytestmark = pytest.mark.integration


def _batch(n: int) -> list[dict]:
    return [
        {
            "type": "track",
            "messageId": uuid.uuid4().hex,
            "anonymousId": f"visitor-{i % 3}",
            "event": "search_performed",
            "properties": {"query": "massage"},
        }
        for i in range(n)
    ]


async def _stored_ids(database_url: str) -> set[str]:
    connection = await asyncpg.connect(database_url)
    try:
        return {
            row["event_id"] for row in await connection.fetch("SELECT event_id FROM user_analytics")
        }
    finally:
        await connection.close()


async def _wait_stored(database_url: str, wanted: set[str], timeout: float) -> set[str]:
    deadline = time.monotonic() + timeout
    stored = await _stored_ids(database_url)
    while not wanted <= stored and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        stored = await _stored_ids(database_url)
    return stored


@pytest.fixture
def own_broker():
    directory = scratch_dir("lookout-test-tansu-")
    broker = EmbeddedKafka(directory)
    broker.start()
    yield broker
    broker.stop()


async def test_broker_down_gives_503_then_recovers_without_losing_acked_events(
    database_url: str, own_broker: EmbeddedKafka, service_factory
) -> None:
    settings = LookoutSettings(
        kafka_bootstrap=own_broker.bootstrap,
        database_url=database_url,
        topic_prefix="outage.",
    )
    await ensure_topics(settings)
    connection = await asyncpg.connect(database_url)
    write_key = await create_key(connection, Role.INGEST, "outage test")
    await connection.close()
    env = settings_env(settings, LOOKOUT_PUBLISH_TIMEOUT_S="2", LOOKOUT_RETRY_AFTER_S="1")
    service_factory("lookout_aggregator", env)
    ingest = service_factory("lookout_ingest", env)

    async with httpx.AsyncClient(timeout=30, auth=(write_key, "")) as client:
        before = _batch(20)
        response = await client.post(f"{ingest.url}/v1/batch", json={"batch": before})
        assert response.status_code == 200, response.text
        before_ids = {event["messageId"] for event in before}
        assert before_ids <= await _wait_stored(database_url, before_ids, timeout=15)

        own_broker.stop()
        during = _batch(20)
        started = time.monotonic()
        response = await client.post(f"{ingest.url}/v1/batch", json={"batch": during})
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "1"
        assert "broker unavailable" in response.json()["errors"][0]["reason"]
        assert time.monotonic() - started < 10  # bounded by the publish timeout, not hung

        own_broker.start()
        await ensure_topics(settings)  # the embedded broker keeps topics in memory only
        deadline = time.monotonic() + 60
        while True:  # what a Segment client does: retry after Retry-After
            response = await client.post(f"{ingest.url}/v1/batch", json={"batch": during})
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            assert response.status_code == 503, response.text
            await asyncio.sleep(float(response.headers["retry-after"]))
        assert response.status_code == 200, response.text

    during_ids = {event["messageId"] for event in during}
    stored = await _wait_stored(database_url, before_ids | during_ids, timeout=30)
    assert before_ids | during_ids <= stored
    assert len(stored) == len(before_ids | during_ids)  # retried events stored once
