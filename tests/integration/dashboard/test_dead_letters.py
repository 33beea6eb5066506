"""Data quality through the real pipeline: hostile events sent to ingest and straight to
the events topic are dead-lettered by the stage that refused them, counted by the
aggregator, and shown by dashboard-api by reason code and stage (real processes, Tansu,
Postgres)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from support.db import create_keys
from support.services import settings_env
from support.wait import eventually

from lookout_common.contracts.events import AnalyticsEvent
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.apikeys import Role

pytestmark = pytest.mark.integration


async def test_dead_letters_of_both_stages_are_counted_by_reason(settings, service_factory) -> None:
    write_key, viewer = await create_keys(
        settings.dsn(), (Role.INGEST, "front end"), (Role.VIEWER, "support")
    )
    env = settings_env(settings)
    # Started together (each joins its consumer groups meanwhile), then waited for.
    services = [
        service_factory(module, env, wait_ready=False)
        for module in ("lookout_ingest", "lookout_aggregator", "lookout_dashboard")
    ]
    for service in services:
        service.wait_ready()
    ingest, _, dashboard = services

    # Ingest refuses an item whose event name is not a name; the valid one goes through.
    async with httpx.AsyncClient(timeout=15) as client:
        answer = await client.post(
            f"{ingest.url}/v1/batch",
            auth=(write_key, ""),
            json={
                "batch": [
                    {
                        "type": "track",
                        "event": "search_performed",
                        "anonymousId": "a1",
                        "properties": {"query": "thai"},
                    },
                    {"type": "track", "event": "!!", "anonymousId": "a1"},
                ]
            },
        )
    assert answer.status_code == 400, answer.text
    # Another producer on the topic: a timestamp without a UTC datetime (aggregator).
    now = datetime.now(UTC)
    event = AnalyticsEvent(
        event_id="year-one",
        kind="track",
        event="x",
        anonymous_id="a2",
        timestamp=now,
        received_at=now,
        source="other producer",
        request_id="r",
    )
    document = {**json.loads(event.model_dump_json()), "timestamp": "0001-01-01T00:30:00+01:00"}
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        topic = topic_name(Topic.EVENTS, settings.topic_prefix)
        await producer.send_and_wait(topic, json.dumps(document).encode())
    finally:
        await producer.stop()

    async def counted() -> dict | None:
        async with httpx.AsyncClient(timeout=15) as client:
            answer = await client.get(
                f"{dashboard.url}/api/v1/analytics/dead-letters",
                headers={"Authorization": f"Bearer {viewer}"},
            )
        assert answer.status_code == 200, answer.text
        found = answer.json()
        return found if found["total"] >= 2 else None

    found = await eventually(counted, timeout=40, interval=0.5)
    assert found["total"] == 2
    assert {(c["stage"], c["code"], c["letters"]) for c in found["cells"]} == {
        ("ingest", "invalid", 1),
        ("aggregator", "timestamp_out_of_range", 1),
    }
    assert sorted((c["code"], c["letters"]) for c in found["byCode"]) == [
        ("invalid", 1),
        ("timestamp_out_of_range", 1),
    ]
    assert sum(point["letters"] for point in found["series"]) == 2
    reasons = {r["code"]: r for r in found["recentReasons"]}
    assert "field `timestamp`" in reasons["timestamp_out_of_range"]["reason"]
    assert reasons["invalid"]["stage"] == "ingest"

    async with httpx.AsyncClient(timeout=15) as client:
        anonymous = await client.get(f"{dashboard.url}/api/v1/analytics/dead-letters")
        inverted = await client.get(
            f"{dashboard.url}/api/v1/analytics/dead-letters",
            params={"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            headers={"Authorization": f"Bearer {viewer}"},
        )
    assert anonymous.status_code == 401
    assert inverted.status_code == 422
