"""The analytics-aggregator process: the batch consumer plus its HTTP probes and `/lag`."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from pydantic import BaseModel, Field

from lookout_aggregator.consumer import Aggregator
from lookout_aggregator.data_quality import DeadLetterCounter
from lookout_aggregator.retention import run_retention
from lookout_common.contracts.topics import Topic, group_name, topic_name
from lookout_common.infra.apikeys import KeyCache
from lookout_common.infra.auth import AUTH_ERRORS, Reader
from lookout_common.infra.db import create_pool, database_reachable
from lookout_common.infra.kafka import broker_reachable, make_broker, start_with_retry
from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import AggregatorSettings
from lookout_common.infra.supervise import Supervisor


class Lag(BaseModel):
    lag: int | None = Field(description="Records not yet stored in Postgres; null while unknown")
    partitions: list[str] = Field(description="Partitions this replica consumes")


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


def create_app(settings: AggregatorSettings | None = None) -> FastAPI:
    settings = settings or AggregatorSettings()
    state: dict[str, Any] = {}
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings, min_size=2)
        broker = make_broker(settings, client_id="lookout-aggregator")
        aggregator = Aggregator(settings, pool, broker)

        async def consume(message: KafkaMessage) -> None:
            await aggregator.handle(list(message.raw_message))

        # One or more members of the group in this process (LOOKOUT_CONSUMERS); more
        # replicas are the usual way to scale out.
        subscribers = []
        for _ in range(settings.consumers):
            subscriber = broker.subscriber(
                topic_name(Topic.EVENTS, settings.topic_prefix),
                group_id=group_name(settings.group_id, settings.topic_prefix),
                **batch_options(settings),
            )
            subscriber(consume)
            subscribers.append(subscriber)

        # Both stages' dead letters, counted for the data-quality view: its own group on
        # its own broker client, started in the background so that joining a second group
        # (seconds on some brokers) never delays the events' consumer or readiness.
        counter = DeadLetterCounter(pool, backoff_s=settings.retry_backoff_s)
        quality_broker = make_broker(settings, client_id="lookout-aggregator-data-quality")

        async def count_dead_letters(message: KafkaMessage) -> None:
            await counter.handle(list(message.raw_message))

        quality_broker.subscriber(
            topic_name(Topic.EVENTS_DLQ, settings.topic_prefix),
            group_id=group_name(f"{settings.group_id}-dead-letters", settings.topic_prefix),
            **batch_options(settings),
        )(count_dead_letters)
        quality_start = asyncio.create_task(start_with_retry(quality_broker, settings))

        state.update(pool=pool, aggregator=aggregator)
        app.state.keys = KeyCache(pool, ttl=5.0)  # for /lag
        await start_with_retry(broker, settings)
        aggregator.consumers = [subscriber.consumer for subscriber in subscribers]
        if settings.events_retention_days:
            loops.spawn(
                "aggregator-retention",
                functools.partial(
                    run_retention,
                    pool,
                    settings.events_retention_days,
                    settings.retention_interval_s,
                ),
            )
        try:
            yield
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

    app = FastAPI(
        title="Lookout analytics-aggregator",
        version=distribution_version("lookout-analytics-aggregator"),
        description="Consumes analytics.events.v1 into user_analytics and the rollups.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    add_probe_routes(
        app,
        "analytics-aggregator",
        lambda: {
            "postgres": lambda: database_reachable(state["pool"]),
            "kafka": lambda: broker_reachable(settings),
        },
        loops=loops,
    )

    @app.get("/lag", response_model=Lag, responses=AUTH_ERRORS, tags=["operations"])
    async def lag(_: Reader) -> Lag:
        """How far this replica is behind (an admin or viewer key): `lookout up` waits for
        0 before stopping."""
        aggregator: Aggregator = state["aggregator"]
        partitions = sorted(f"{tp.topic}:{tp.partition}" for tp in aggregator.assignment())
        return Lag(lag=await aggregator.lag(), partitions=partitions)

    return app
