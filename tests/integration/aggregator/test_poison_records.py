"""No record stops the aggregator (real Tansu, real Postgres, the real process): a record
that fails the batch for any reason is bisected out and dead-lettered with its exception,
every other record of every partition is stored exactly once, and the consumer goes on."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from support.services import settings_env
from support.wait import eventually

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
        anonymous_id=f"visitor-{event_id}",
        properties={"query": "hot stone"},
        timestamp=now,
        received_at=now,
        source="poison test",
        request_id="r",
    )
    document = json.loads(event.model_dump_json())
    document.update(changes)
    return json.dumps(document).encode()


async def _produce(settings: LookoutSettings, records: list[tuple[int, bytes]]) -> None:
    """Each (partition, value) to the events topic, acknowledged by the broker."""
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", max_request_size=2 * 1024 * 1024
    )
    await producer.start()
    try:
        topic = topic_name(Topic.EVENTS, settings.topic_prefix)
        for partition, value in records:
            await producer.send_and_wait(topic, value, partition=partition)
    finally:
        await producer.stop()


async def _stored(settings: LookoutSettings) -> tuple[list[str], int]:
    connection = await asyncpg.connect(settings.dsn())
    try:
        rows = await connection.fetch("SELECT event_id FROM user_analytics ORDER BY 1")
        counted = await connection.fetchval(
            "SELECT coalesce(sum(events), 0) FROM rollup_event_counts"
        )
        return [row["event_id"] for row in rows], counted
    finally:
        await connection.close()


async def _stored_when(settings: LookoutSettings, condition, timeout: float = 30):
    """(event ids stored, events counted) once `condition` holds for them."""

    async def found():
        state = await _stored(settings)
        return state if condition(state) else None

    return await eventually(found, timeout=timeout)


async def _letters(settings: LookoutSettings, expect: int) -> list[dict]:
    """The dead-letter topic from the start, read without a consumer group (no join wait):
    at least `expect` letters, then half a second more so that extra ones show up too."""
    topic = topic_name(Topic.EVENTS_DLQ, settings.topic_prefix)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    await consumer.start()
    letters: list[dict] = []
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        consumer.assign([TopicPartition(topic, partition) for partition in partitions])
        await consumer.seek_to_beginning()
        deadline = time.monotonic() + 15
        while len(letters) < expect and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                letters.extend(json.loads(record.value) for record in batch)
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            letters.extend(json.loads(record.value) for record in batch)
    finally:
        await consumer.stop()
    return letters


async def test_a_batch_across_partitions_with_a_poison_record_stores_every_good_one_once(
    settings: LookoutSettings, service_factory
) -> None:
    # An anonymous id past a B-tree row's limit (Postgres: program_limit_exceeded; this
    # redelivered the batch forever before bisection). Random text does not compress.
    poison = _event("poison", anonymous_id=secrets.token_hex(6000))
    good = [(partition, _event(f"p{partition}-{i}")) for partition in range(4) for i in range(25)]
    await _produce(settings, [*good[:60], (1, poison), *good[60:]])
    service_factory("lookout_aggregator", settings_env(settings))

    expected = sorted(f"p{partition}-{i}" for partition in range(4) for i in range(25))
    await _stored_when(settings, lambda found: found[0] == expected)
    letters = await _letters(settings, expect=1)
    assert [(letter["code"], letter["error_type"]) for letter in letters] == [
        ("refused_by_database", "ProgramLimitExceededError")
    ]
    assert "index row" in letters[0]["reason"]
    # A record sent afterwards goes through: nothing is stuck, nothing counted twice.
    await _produce(settings, [(2, _event("after"))])
    ids, counted = await _stored_when(settings, lambda found: "after" in found[0], timeout=15)
    assert ids == sorted([*expected, "after"])
    assert counted == 101


async def test_timestamps_outside_the_accepted_range_are_dead_lettered_without_a_partition(
    settings: LookoutSettings, service_factory
) -> None:
    old = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    await _produce(
        settings,
        [
            (0, _event("good-1")),
            # No UTC datetime exists for it: this raised OverflowError for ever before.
            (0, _event("year-one", timestamp="0001-01-01T00:30:00+01:00")),
            (1, _event("beyond-retention", timestamp=old)),
            (2, _event("good-2")),
        ],
    )
    env = settings_env(settings, LOOKOUT_EVENTS_RETENTION_DAYS="90")
    service_factory("lookout_aggregator", env)

    await _stored_when(settings, lambda found: found[0] == ["good-1", "good-2"])
    letters = await _letters(settings, expect=2)
    assert sorted(letter["code"] for letter in letters) == ["timestamp_out_of_range"] * 2
    assert all("field `timestamp`" in letter["reason"] for letter in letters)
    connection = await asyncpg.connect(settings.dsn())
    try:
        partitions = await connection.fetchval(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'user_analytics'::regclass"
        )
    finally:
        await connection.close()
    assert partitions == 1  # today's only: no DDL for year 1 or for 400 days ago


async def test_a_record_whose_dead_letter_is_too_large_for_the_broker_does_not_stop_it(
    settings: LookoutSettings, service_factory
) -> None:
    # 700 KB of quotes: as a letter's payload, escaped twice, it passed the producer's
    # 1 MB limit and the KafkaError redelivered the batch for ever.
    huge = b'{"schema_version": 9, "q": "' + b'\\"' * 350_000 + b'"}'
    await _produce(settings, [(0, _event("good-1")), (0, huge), (3, _event("good-2"))])
    service_factory("lookout_aggregator", settings_env(settings))

    await _stored_when(settings, lambda found: found[0] == ["good-1", "good-2"])
    letters = await _letters(settings, expect=1)
    assert [letter["code"] for letter in letters] == ["undecodable"]
    assert letters[0]["payload"].startswith('{"schema_version": 9')
    assert letters[0]["payload"].endswith("more bytes)")
