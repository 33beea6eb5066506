"""The batch consumer: Kafka records in, Postgres transactions, dead letters, then commit.

Offsets are committed by FastStream only after `handle` returns (ack policy
NACK_ON_ERROR), for every partition of the batch, and `handle` returns only after the
batch's transactions committed and its dead letters were acknowledged. No record can
stop the consumer for more than one retry cycle:

- a transient failure (connection lost, deadlock, the database shutting down) retries
  the same records with backoff; waiting cures it, and no record can cause it;
- any other failure of a write splits it in halves until the failing records are alone
  (`isolation.py`); those are dead-lettered with the exception's type and message, the
  rest is stored once;
- records that are not events, or whose timestamp is outside the accepted range, are
  dead-lettered before any SQL runs, so no day partition is ever created for them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge, Histogram
from pydantic import ValidationError

from lookout_aggregator.isolation import write_isolating
from lookout_aggregator.letters import LetterBox, describe, letter
from lookout_aggregator.store import EventHead, ensure_partitions, store_batch
from lookout_common.contracts.events import DeadLetter, DeadLetterCode
from lookout_common.contracts.timebounds import latest_accepted, oldest_accepted
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.settings import AggregatorSettings

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
ISOLATED = Counter(
    "lookout_aggregator_isolated_total",
    "Records a failing write was bisected down to, by exception type",
    ["error_type"],
)
LAG = Gauge("lookout_aggregator_consumer_lag", "Records in assigned partitions not yet stored")

# SQLSTATE classes that waiting cures: connection, transaction rollback (deadlock,
# serialization), insufficient resources, operator intervention (shutdown, cancel),
# system error. Plus a read-only transaction (a failover in progress) and lock waits.
TRANSIENT_CLASSES = ("08", "40", "53", "57", "58")
TRANSIENT_STATES = frozenset({"25006", "55P03", "55006"})
# The database is not set up for us (a missing migration, a revoked grant). No record
# can cause these: record values reach Postgres only as the $1 parameter, never as a
# name, so they are waited out like an outage rather than dead-lettering every record.
SETUP_CLASSES = ("42", "3F", "28")


def transient(error: Exception) -> bool:
    """A failure that no record causes and waiting cures: retry, never dead-letter."""
    if isinstance(error, OSError | TimeoutError | asyncpg.InterfaceError):
        return True
    if isinstance(error, asyncpg.PostgresError):
        state = error.sqlstate or ""
        return state[:2] in TRANSIENT_CLASSES + SETUP_CLASSES or state in TRANSIENT_STATES
    return False


def code_of(error: Exception) -> DeadLetterCode:
    """Postgres refused the row (bad encoding, a limit, a constraint), or anything else."""
    if isinstance(error, asyncpg.PostgresError):
        return DeadLetterCode.REFUSED_BY_DATABASE
    return DeadLetterCode.PROCESSING_ERROR


@dataclass(frozen=True)
class Decoded:
    head: EventHead
    value: bytes  # the record's JSON, stored as sent


class Aggregator:
    def __init__(self, settings: AggregatorSettings, pool: asyncpg.Pool, broker: KafkaBroker):
        self.settings = settings
        self.pool = pool
        self.letters = LetterBox(
            broker,
            topic_name(Topic.EVENTS_DLQ, settings.topic_prefix),
            backoff_s=settings.retry_backoff_s,
            stopping=lambda: self.stopping,
        )
        self.processed: dict[TopicPartition, int] = {}  # next offset not yet stored
        self.consumers: list[AIOKafkaConsumer] = []  # the aiokafka consumers, set once subscribed
        self.stopping = False
        self._days: set[date] = set()  # day partitions known to exist

    def decode(
        self, records: Sequence[ConsumerRecord], now: datetime
    ) -> tuple[list[Decoded], list[DeadLetter]]:
        """The records that are events in the accepted time range, and letters for the rest."""
        oldest = oldest_accepted(
            now, self.settings.events_retention_days, self.settings.events_max_age_days
        )
        latest = latest_accepted(now)
        events, letters = [], []
        for record in records:
            try:
                head = EventHead.model_validate_json(record.value or b"")
            except ValidationError as error:
                letters.append(
                    letter(
                        record.value,
                        DeadLetterCode.UNDECODABLE,
                        f"undecodable event: {error}",
                        error_type="ValidationError",
                    )
                )
                continue
            # Compared, never converted: 0001-01-01T00:30+01:00 has no UTC datetime.
            if not oldest <= head.timestamp <= latest:
                letters.append(
                    letter(
                        record.value,
                        DeadLetterCode.TIMESTAMP_OUT_OF_RANGE,
                        f"field `timestamp`: {head.timestamp.isoformat()} is outside the "
                        f"accepted range {oldest.isoformat()} to {latest.isoformat()}",
                        source=head.source,
                        request_id=head.request_id,
                    )
                )
                continue
            events.append(Decoded(head, record.value))
        return events, letters

    async def handle(self, records: list[ConsumerRecord]) -> None:
        started = time.perf_counter()
        BATCH_SIZE.observe(len(records))
        events, letters = self.decode(records, datetime.now(UTC))
        outcome = await write_isolating(events, self._store_retrying, transient)
        for isolated in outcome.isolated:
            error_type = type(isolated.error).__name__
            ISOLATED.labels(error_type).inc()
            event = isolated.item
            letters.append(
                letter(
                    event.value,
                    code_of(isolated.error),
                    f"{error_type}: {describe(isolated.error)}",
                    error_type=error_type,
                    source=event.head.source,
                    request_id=event.head.request_id,
                )
            )
        # The letters are acknowledged before this returns, so before the offsets commit.
        await self.letters.publish(letters)
        EVENTS.labels("stored").inc(outcome.written)
        EVENTS.labels("duplicate").inc(len(events) - outcome.written - len(outcome.isolated))
        EVENTS.labels("invalid").inc(len(letters))
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            self.processed[tp] = max(self.processed.get(tp, 0), record.offset + 1)
        BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _store_retrying(self, events: Sequence[Decoded]) -> int:
        """Store `events` in one transaction, retrying transient failures with backoff."""
        delay = self.settings.retry_backoff_s
        while True:
            try:
                return await self._store(events)
            except Exception as error:
                # A missing partition (dropped by retention) must be looked up again.
                self._days.clear()
                if not transient(error) or self.stopping:
                    raise
                BATCH_RETRIES.inc()
                log.warning(
                    "database unavailable; retrying batch",
                    extra={"error": repr(error), "retry_in_s": delay},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _store(self, events: Sequence[Decoded]) -> int:
        if not events:
            return 0
        async with self.pool.acquire() as connection:
            days = {event.head.timestamp.astimezone(UTC).date() for event in events}
            if missing := days - self._days:
                await ensure_partitions(connection, missing)
                self._days |= missing
            # One transaction per write: the batch is stored whole or not at all, and the
            # offsets are committed only after it (by FastStream, once `handle` returns).
            async with connection.transaction():
                return await store_batch(
                    connection,
                    [event.value for event in events],
                    timezone=self.settings.timezone,
                    session_timeout=timedelta(seconds=self.settings.session_timeout_s),
                )

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
