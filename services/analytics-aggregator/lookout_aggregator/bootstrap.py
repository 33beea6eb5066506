"""Wiring in one place: the aggregator's dependencies, built once in the lifespan into a
typed `Services`, and the `Depends` getters the routes take them from."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from lookout_aggregator.consumer import Aggregator
from lookout_aggregator.data_quality import DeadLetterCounter
from lookout_aggregator.retention import run_retention
from lookout_common.contracts.topics import Topic, group_name, topic_name
from lookout_common.infra.apikeys import KeyCache
from lookout_common.infra.db import create_pool, database_reachable
from lookout_common.infra.kafka import broker_reachable, make_broker, start_with_retry
from lookout_common.infra.service import AppServices, ReadinessCheck
from lookout_common.infra.settings import AggregatorSettings
from lookout_common.infra.supervise import Supervisor


@dataclass(frozen=True)
class Services:
    """Everything the aggregator's routes need, built once per process."""

    settings: AggregatorSettings
    pool: asyncpg.Pool
    aggregator: Aggregator
    keys: KeyCache  # for /lag
    readiness: Mapping[str, ReadinessCheck]


async def _undecoded(message: Any) -> None:
    """Skip FastStream's JSON decoding: the aggregator validates the raw records itself."""
    return None


def batch_options(settings: AggregatorSettings) -> dict[str, Any]:
    """How the aggregator's subscribers fetch and acknowledge: batches of raw records whose
    offsets are committed only after the handler returned, and a failed batch (NACK)
    rewinds every partition it touched (FastStream >= 0.7.8), so none is skipped."""
    return {
        "batch": True,
        "max_records": settings.batch_max_records,
        "batch_timeout_ms": settings.batch_timeout_ms,
        "max_partition_fetch_bytes": 8 * 1024 * 1024,
        "auto_offset_reset": "earliest",
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "max_poll_interval_ms": 10 * 60 * 1000,
        "decoder": _undecoded,
    }


def _subscribe_events(
    broker: KafkaBroker, settings: AggregatorSettings, aggregator: Aggregator
) -> list[Any]:
    """`LOOKOUT_CONSUMERS` members of the events' group in this process, each handing its
    batches to `aggregator` (more replicas are the usual way to scale out)."""

    async def consume(message: KafkaMessage) -> None:
        await aggregator.handle(list(message.raw_message))

    subscribers = []
    for _ in range(settings.consumers):
        subscriber = broker.subscriber(
            topic_name(Topic.EVENTS, settings.topic_prefix),
            group_id=group_name(settings.group_id, settings.topic_prefix),
            **batch_options(settings),
        )
        subscriber(consume)
        subscribers.append(subscriber)
    return subscribers


def _subscribe_dead_letters(
    broker: KafkaBroker, settings: AggregatorSettings, counter: DeadLetterCounter
) -> None:
    """Both stages' dead letters, counted for the data-quality view, in their own group."""

    async def count_dead_letters(message: KafkaMessage) -> None:
        await counter.handle(list(message.raw_message))

    broker.subscriber(
        topic_name(Topic.EVENTS_DLQ, settings.topic_prefix),
        group_id=group_name(f"{settings.group_id}-dead-letters", settings.topic_prefix),
        **batch_options(settings),
    )(count_dead_letters)


@asynccontextmanager
async def bootstrap(settings: AggregatorSettings, loops: Supervisor) -> AsyncIterator[Services]:
    """Pool, the events' broker with its subscribers and the aggregator, the dead-letter
    counter on its own broker client (started in the background, so that joining a second
    group never delays the events' consumer or readiness), and the supervised retention
    loop when retention is set. On the way out the aggregator and the counter are told to
    stop (a retry in progress NACKs instead of waiting), then the counter's broker stops,
    then the loops, the events' broker and the pool."""
    pool = await create_pool(settings, min_size=2)
    broker = make_broker(settings, client_id="lookout-aggregator")
    aggregator = Aggregator(settings, pool, broker)
    subscribers = _subscribe_events(broker, settings, aggregator)

    counter = DeadLetterCounter(pool, backoff_s=settings.retry_backoff_s)
    quality_broker = make_broker(settings, client_id="lookout-aggregator-data-quality")
    _subscribe_dead_letters(quality_broker, settings, counter)
    quality_start = asyncio.create_task(start_with_retry(quality_broker, settings))

    services = Services(
        settings=settings,
        pool=pool,
        aggregator=aggregator,
        keys=KeyCache(pool, ttl=5.0),
        readiness={
            "postgres": lambda: database_reachable(pool),
            "kafka": lambda: broker_reachable(settings),
        },
    )
    await start_with_retry(broker, settings)
    aggregator.consumers = [subscriber.consumer for subscriber in subscribers]
    if settings.events_retention_days:
        loops.spawn(
            "aggregator-retention",
            functools.partial(
                run_retention, pool, settings.events_retention_days, settings.retention_interval_s
            ),
        )
    try:
        yield services
    finally:
        aggregator.stopping = True
        counter.stopping = True
        quality_start.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await quality_start
        await quality_broker.stop()
        await loops.stop()
        await broker.stop()
        await pool.close()


# Where the lifespan keeps the services, and the typed getters routes take them from.
app_services = AppServices(Services)
get_services = app_services.get
AggregatorDep = Annotated[Aggregator, app_services.depends(lambda services: services.aggregator)]
