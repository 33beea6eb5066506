"""Records the aggregator can never store go to the dead-letter topic with the reason;
the valid records of the same batch are stored, and nothing blocks the partition."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from support.kafka import read_topic
from support.services import settings_env

from lookout_common.contracts.events import AnalyticsEvent
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.settings import LookoutSettings

pytestmark = pytest.mark.integration


def _event(event_id: str, **changes) -> bytes:
    now = datetime.now(UTC)
    event = AnalyticsEvent(
        event_id=event_id,
        kind="track",
        event="search_performed",
        anonymous_id="visitor-1",
        properties={"query": "hot stone"},
        timestamp=now,
        received_at=now,
        source="test",
        request_id="r",
    )
    document = json.loads(event.model_dump_json())
    document.update(changes)
    return json.dumps(document).encode()


async def test_bad_records_are_dead_lettered_and_good_ones_stored(
    settings: LookoutSettings, service_factory
) -> None:
    records = [
        _event("good-1"),
        b"{this is not json",
        _event("wrong-version", schema_version=9),
        _event("string-properties", properties="not an object"),
        _event("nul-byte", properties={"query": "a\u0000b"}),
        _event("good-2"),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        topic = topic_name(Topic.EVENTS, settings.topic_prefix)
        # One partition key: the whole set arrives as one batch, in order.
        for value in records:
            await producer.send_and_wait(topic, value, key=b"visitor-1")
    finally:
        await producer.stop()

    service_factory("lookout_aggregator", settings_env(settings))
    connection = await asyncpg.connect(settings.dsn())
    try:
        deadline = time.monotonic() + 30
        stored: list[str] = []
        while len(stored) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            rows = await connection.fetch("SELECT event_id FROM user_analytics ORDER BY 1")
            stored = [row["event_id"] for row in rows]
        counted = await connection.fetchval("SELECT sum(events) FROM rollup_event_counts")
    finally:
        await connection.close()
    assert stored == ["good-1", "good-2"]
    assert counted == 2

    letters = await read_topic(
        settings.kafka_bootstrap, topic_name(Topic.EVENTS_DLQ, settings.topic_prefix), expect=4
    )
    assert len(letters) == 4
    assert {letter["stage"] for letter in letters} == {"aggregator"}
    codes = sorted(letter["code"] for letter in letters)
    # Bad JSON and an unknown schema version; non-object properties and a NUL byte.
    assert codes == ["refused_by_database"] * 2 + ["undecodable"] * 2
    reasons = " | ".join(letter["reason"] for letter in letters)
    assert reasons.count("undecodable event") == 2
    assert "user_analytics_properties_object" in reasons
    assert {letter["error_type"] for letter in letters} == {
        "ValidationError",
        "CheckViolationError",
        "UntranslatableCharacterError",
    }
    payloads = " ".join(letter["payload"] for letter in letters)
    for event_id in ("wrong-version", "string-properties", "nul-byte"):
        assert event_id in payloads
