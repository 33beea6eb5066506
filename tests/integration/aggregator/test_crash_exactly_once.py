"""The aggregator killed with SIGKILL mid-stream and restarted, or killed while a second
process of its group carries on: every event is stored and counted exactly once, raw rows
and rollups alike, and two processes writing at once never deadlock."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaProducer
from support.db import create_keys
from support.services import ServiceProcess, settings_env

from lookout_common.contracts.events import AnalyticsEvent
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.apikeys import Role
from lookout_common.infra.settings import LookoutSettings

pytestmark = pytest.mark.integration

TOTAL = 30_000
KINDS = ["page_view", "search_performed", "booking_completed", "chat_started", "error_occurred"]


def _events(now: datetime) -> list[AnalyticsEvent]:
    rng = random.Random(7)
    events = []
    for i in range(TOTAL):
        name = KINDS[i % len(KINDS)]
        properties = {
            "page_view": {"path": f"/p/{i % 13}"},
            "search_performed": {"query": "thai"},
            "booking_completed": {
                "therapistId": "t1",
                "serviceType": "thai",
                "totalPrice": 50,
                "currency": "EUR",
            },
            "chat_started": {"chatId": f"chat-{i % 101}"},
            "error_occurred": {"message": "boom"},
        }[name]
        events.append(
            AnalyticsEvent(
                event_id=uuid.UUID(int=rng.getrandbits(128)).hex,
                kind="page" if name == "page_view" else "track",
                event=name,
                anonymous_id=f"visitor-{i % 997}",
                properties=properties,
                timestamp=now - timedelta(seconds=i % 3600),
                received_at=now,
                source="crash test",
                request_id="r",
            )
        )
    return events


async def _count(database_url: str) -> tuple[int, int, int]:
    connection = await asyncpg.connect(database_url)
    try:
        return (
            await connection.fetchval("SELECT count(*) FROM user_analytics"),
            await connection.fetchval("SELECT count(*) FROM event_ids"),
            await connection.fetchval("SELECT coalesce(sum(events), 0) FROM rollup_event_counts"),
        )
    finally:
        await connection.close()


async def _stream_and_kill(
    settings: LookoutSettings,
    stream: list[AnalyticsEvent],
    start: Callable[[], ServiceProcess],
    kill_after: int,
) -> None:
    """Produce the first 5,000 events, `start()` the process to kill, keep producing 500 at
    a time until `kill_after` raw rows are stored, SIGKILL it there (mid-stream), then
    produce the rest."""
    topic = topic_name(Topic.EVENTS, settings.topic_prefix)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()

    async def produce(chunk: list[AnalyticsEvent]) -> None:
        futures = [
            await producer.send(topic, e.model_dump_json().encode(), key=e.partition_key())
            for e in chunk
        ]
        await asyncio.gather(*futures)

    try:
        await produce(stream[:5000])
        victim = start()
        position, stored = 5000, 0
        deadline = time.monotonic() + 60
        while stored < kill_after and time.monotonic() < deadline:
            await produce(stream[position : position + 500])
            position += 500
            stored = (await _count(settings.dsn()))[0]
        victim.kill()
        assert 0 < stored < TOTAL, "kill must land mid-stream"
        await produce(stream[position:])
    finally:
        await producer.stop()


async def _settled_counts(settings: LookoutSettings, timeout_s: float) -> tuple[int, int, int]:
    """The counts once every event is stored (or the timeout passed), and a second later:
    anything late and wrong would land by then."""
    deadline = time.monotonic() + timeout_s
    counts = await _count(settings.dsn())
    while counts[0] < TOTAL and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        counts = await _count(settings.dsn())
    await asyncio.sleep(1.0)
    return await _count(settings.dsn())


async def test_sigkill_mid_stream_then_restart_counts_every_event_once(
    settings: LookoutSettings, service_factory
) -> None:
    # A client retry that went through twice: 2,000 ids arrive again later in the stream.
    stream = _events(datetime.now(UTC))
    stream += stream[:2000]
    env = settings_env(settings, LOOKOUT_BATCH_MAX_RECORDS="500")
    # The aggregator starts on a backlog, and the kill lands while events keep arriving.
    await _stream_and_kill(
        settings, stream, lambda: service_factory("lookout_aggregator", env, wait_ready=False), 3000
    )
    service_factory("lookout_aggregator", env)
    assert await _settled_counts(settings, 120) == (TOTAL, TOTAL, TOTAL)

    connection = await asyncpg.connect(settings.dsn())
    try:
        by_event = dict(
            await connection.fetch("SELECT event, sum(events) FROM rollup_event_counts GROUP BY 1")
        )
        views = await connection.fetchval("SELECT sum(views) FROM rollup_page_views")
        chats = await connection.fetchval(
            "SELECT count(DISTINCT member) FROM rollup_distinct WHERE kind = 'chat'"
        )
    finally:
        await connection.close()
    assert by_event == {name: TOTAL // len(KINDS) for name in KINDS}
    assert views == TOTAL // len(KINDS)
    assert chats == 101


async def _partitions(service: ServiceProcess, key: str) -> list[str]:
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(
            f"{service.url}/lag", headers={"Authorization": f"Bearer {key}"}
        )
    return response.json()["partitions"] if response.status_code == 200 else []


async def test_two_processes_one_sigkilled_count_every_event_once_without_deadlocks(
    settings: LookoutSettings, service_factory
) -> None:
    """Two processes in one group share the 4 partitions, both writing rows every replica
    adds to (the same minute's counts) at the same time. One is SIGKILLed mid-stream; the
    other takes its partitions over once its session expires and redoes what it had not
    committed."""
    stream = _events(datetime.now(UTC))
    stream += stream[:2000]
    (admin,) = await create_keys(settings.dsn(), (Role.ADMIN, "kill test"))
    env = settings_env(settings, LOOKOUT_BATCH_MAX_RECORDS="500")
    survivor = service_factory("lookout_aggregator", env)
    victim = service_factory("lookout_aggregator", env)
    deadline = time.monotonic() + 60
    held: list[list[str]] = [[], []]
    while time.monotonic() < deadline:
        held = [await _partitions(survivor, admin), await _partitions(victim, admin)]
        if all(held) and len(held[0]) + len(held[1]) == 4:
            break
        await asyncio.sleep(0.2)
    assert all(held), held
    assert len(held[0]) + len(held[1]) == 4, held

    await _stream_and_kill(settings, stream, lambda: victim, 6000)
    # The victim's partitions move to the survivor once the group drops the dead member.
    await _settled_counts(settings, 180)
    survivor.stop()  # its backends exit, so their statistics are flushed
    assert await _count(settings.dsn()) == (TOTAL, TOTAL, TOTAL)
