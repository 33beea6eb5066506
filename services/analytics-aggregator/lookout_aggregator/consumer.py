"""The batch consumer: Kafka records in, one Postgres transaction per batch, then commit.

Offsets are committed by FastStream only after `handle` returns (ack policy
NACK_ON_ERROR), and `handle` returns only after the transaction committed. A
transient database failure is retried with backoff on the same batch; a record
that can never be stored (undecodable, or data Postgres refuses) goes to the
dead-letter topic instead of blocking the partition.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
from aiokafka import ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError

from lookout_aggregator.store import EventHead, ensure_partitions, store_batch
from lookout_common.events import DeadLetter, FieldError
from lookout_common.settings import AggregatorSettings
from lookout_common.topics import Topic, topic_name

log = logging.getLogger("lookout.aggregator")

EVENTS = Counter(
    "lookout_aggregator_events_total",
    "Events consumed, by result: stored, duplicate (already stored), invalid (dead-lettered)",
    ["result"],
)
BATCH_SIZE = Histogram(
    "lookout_aggregator_batch_size",
    "Records per consumed batch",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
BATCH_SECONDS = Histogram(
    "lookout_aggregator_batch_seconds",
    "Time to store one batch (transaction included)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_RETRIES = Counter(
    "lookout_aggregator_batch_retries_total", "Batches retried after a database error"
)
LAG = Gauge("lookout_aggregator_consumer_lag", "Records in assigned partitions not yet stored")

TRANSIENT = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,
    OSError,
    TimeoutError,
)


# Data Postgres will never take (bad encoding, a non-object `properties`, no partition):
# retried one event at a time so only the offending events are dead-lettered.
REFUSED = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError)


@dataclass(frozen=True)
class Decoded:
    head: EventHead
    value: bytes  # the record's JSON, stored as sent


class Aggregator:
    def __init__(self, settings: AggregatorSettings, pool: asyncpg.Pool, broker: KafkaBroker):
        self.settings = settings
        self.pool = pool
        self.broker = broker
        self.dlq_topic = topic_name(Topic.EVENTS_DLQ, settings.topic_prefix)
        self.processed: dict[TopicPartition, int] = {}  # next offset not yet stored
        self.consumers: list = []  # the aiokafka consumers, set once subscribed
        self.stopping = False
        self._days: set = set()  # day partitions known to exist

    def decode(self, records: list[ConsumerRecord]) -> tuple[list[Decoded], list]:
        events, invalid = [], []
        for record in records:
            try:
                events.append(Decoded(EventHead.model_validate_json(record.value), record.value))
            except ValidationError as error:
                invalid.append((record, str(error)))
        return events, invalid

    async def handle(self, records: list[ConsumerRecord]) -> None:
        started = time.perf_counter()
        BATCH_SIZE.observe(len(records))
        events, invalid = self.decode(records)
        for record, reason in invalid:
            await self.dead_letter(record.value, f"undecodable event: {reason}")
        stored, refused = await self._store_with_retry(events)
        EVENTS.labels("stored").inc(stored)
        EVENTS.labels("duplicate").inc(len(events) - stored - refused)
        EVENTS.labels("invalid").inc(len(invalid) + refused)
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            self.processed[tp] = max(self.processed.get(tp, 0), record.offset + 1)
        BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _store_with_retry(self, events: list[Decoded]) -> tuple[int, int]:
        """(stored, refused): retries transient failures, isolates refused events."""
        delay = self.settings.retry_backoff_s
        while True:
            try:
                return await self._store(events), 0
            except REFUSED as error:
                log.warning(
                    "batch refused by Postgres; storing one by one", extra={"error": str(error)}
                )
                self._days.clear()  # a missing partition (dropped by retention) is refused too
                return await self._store_one_by_one(events)
            except TRANSIENT as error:
                if self.stopping:
                    raise
                BATCH_RETRIES.inc()
                log.warning(
                    "database unavailable; retrying batch",
                    extra={"error": repr(error), "retry_in_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _store(self, events: list[Decoded]) -> int:
        if not events:
            return 0
        async with self.pool.acquire() as connection:
            days = {event.head.timestamp.astimezone(UTC).date() for event in events}
            if missing := days - self._days:
                await ensure_partitions(connection, missing)
                self._days |= missing
            async with connection.transaction():
                return await store_batch(
                    connection,
                    [event.value for event in events],
                    timezone=self.settings.timezone,
                    session_timeout=timedelta(seconds=self.settings.session_timeout_s),
                )

    async def _store_one_by_one(self, events: list[Decoded]) -> tuple[int, int]:
        stored = refused = 0
        for event in events:
            try:
                stored += await self._store([event])
            except REFUSED as error:
                refused += 1
                await self.dead_letter(event.value, f"refused by Postgres: {error}", event.head)
        return stored, refused

    async def dead_letter(self, value: bytes, reason: str, event: EventHead | None = None) -> None:
        letter = DeadLetter(
            stage="aggregator",
            reason=reason,
            errors=[FieldError(field="", reason=reason)],
            payload=value.decode(errors="replace"),
            source=event.source if event else None,
            request_id=event.request_id if event else None,
            rejected_at=datetime.now(UTC),
        )
        # Awaited with acks=all: the offset is not committed before the letter is safe.
        await self.broker.publish(letter.model_dump_json().encode(), self.dlq_topic)
        log.error("event dead-lettered", extra={"reason": reason})

    def assignment(self) -> set[TopicPartition]:
        return {tp for consumer in self.consumers for tp in consumer.assignment()}

    async def lag(self) -> int | None:
        """Records in the assigned partitions not yet stored; None while unknown."""
        total = 0
        assigned = False
        for consumer in self.consumers:
            for tp in consumer.assignment():
                assigned = True
                highwater = consumer.highwater(tp)
                if highwater is None:
                    return None
                done = self.processed.get(tp)
                if done is None:
                    done = await consumer.committed(tp) or 0
                total += max(highwater - done, 0)
        if not assigned:
            return None
        LAG.set(total)
        return total
