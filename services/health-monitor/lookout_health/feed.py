"""Results and incident transitions onto Kafka, off the checks' own path.

Postgres is the record; Kafka is the feed other processes follow. A broker that is down
or slow must not hold up a single check, so runs only enqueue and two supervised loops
publish:
- results best-effort, from a bounded in-memory queue (the oldest dropped when full, a
  failed publish not retried);
- incident transitions from the Postgres outbox (`incident_outbox`), written in the same
  transaction as the incident itself, in order, each row deleted only after Kafka
  acknowledged it. The alert consumer reads them, so a restart during a Kafka outage
  must lose none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

import asyncpg
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge

from lookout_common.contracts.health_events import IncidentEvent
from lookout_common.infra.db import DATABASE_UNAVAILABLE
from lookout_common.infra.leader import lock_id
from lookout_common.infra.supervise import Supervisor
from lookout_health.store import incidents as incident_store

log = logging.getLogger("lookout.health.feed")

NOT_PUBLISHED = Counter(
    "lookout_health_feed_not_published_total",
    "Messages the monitor could not put on Kafka (yet), by topic and reason",
    ["topic", "reason"],
)
OUTBOX = Gauge(
    "lookout_health_incident_outbox", "Incident transitions waiting in Postgres for Kafka"
)
# One relay publishes at a time, whatever the number of replicas, so the order holds.
RELAY_LOCK = lock_id("lookout.health.incident-outbox")
KAFKA_UNAVAILABLE = (KafkaError, TimeoutError, OSError)


@dataclass(frozen=True)
class Message:
    topic: str
    key: str
    body: bytes


class KafkaFeed:
    def __init__(
        self,
        broker: KafkaBroker,
        pool: asyncpg.Pool,
        incidents_topic: str,
        supervisor: Supervisor,
        *,
        capacity: int = 10_000,
        timeout_s: float = 10.0,
        retry_s: float = 1.0,
        batch: int = 100,
    ) -> None:
        self._broker = broker
        self._pool = pool
        self._incidents_topic = incidents_topic
        self._supervisor = supervisor
        self._timeout_s = timeout_s
        self._retry_s = retry_s
        self._batch = batch
        self._results: deque[Message] = deque(maxlen=capacity)
        self._wake_results = asyncio.Event()
        self._wake_incidents = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._failing = False
        self._outbox_unavailable = False

    def start(self) -> None:
        """Start both publishing loops (once); the relay first drains what an earlier
        life of the process (or another replica) left in the outbox."""
        if not self._tasks:
            self._tasks = [
                self._supervisor.spawn("health-feed-results", self._publish_results),
                self._supervisor.spawn("health-incident-outbox", self._relay_incidents),
            ]

    def result(self, topic: str, key: str, body: str) -> None:
        """Queue a check result; returns at once."""
        if len(self._results) == self._results.maxlen:
            NOT_PUBLISHED.labels(topic, "queue_full").inc()
        self._results.append(Message(topic, key, body.encode()))
        self._wake_results.set()

    def incident_recorded(self) -> None:
        """An incident transition was committed to the outbox: publish it now."""
        self._wake_incidents.set()

    async def pending_incidents(self) -> int:
        return await incident_store.outbox_size(self._pool)

    async def _send(self, message: Message) -> bool:
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
            # cancellation that arrives as the publish completes, and the loop never stops.
            async with asyncio.timeout(self._timeout_s):
                await self._broker.publish(message.body, message.topic, key=message.key.encode())
        except KAFKA_UNAVAILABLE as error:
            NOT_PUBLISHED.labels(message.topic, type(error).__name__).inc()
            if not self._failing:
                log.warning(
                    "Kafka is not taking the monitor's messages; checks keep running",
                    extra={"topic": message.topic, "error": repr(error)},
                )
            self._failing = True
            return False
        if self._failing:
            log.info("Kafka takes the monitor's messages again")
        self._failing = False
        return True

    async def _publish_results(self) -> None:
        while True:
            await self._wake_results.wait()
            self._wake_results.clear()
            while self._results:
                batch = [self._results.popleft() for _ in range(len(self._results))]
                # One chain per check keeps each check's results in order; checks go
                # side by side so a thousand results a second are not published one by one.
                chains: dict[str, list[Message]] = {}
                for message in batch:
                    chains.setdefault(message.key, []).append(message)
                await asyncio.gather(*(self._send_all(chain) for chain in chains.values()))

    async def _send_all(self, chain: list[Message]) -> None:
        for message in chain:
            await self._send(message)

    async def _relay_incidents(self) -> None:
        while True:
            try:
                refused, remaining = await self.relay_once()
            except DATABASE_UNAVAILABLE as error:
                if not self._outbox_unavailable:  # once per outage
                    log.warning("incident outbox unavailable", extra={"error": repr(error)})
                self._outbox_unavailable = True
                refused, remaining = True, 0
            else:
                if self._outbox_unavailable:
                    log.info("incident outbox available again")
                self._outbox_unavailable = False
            if refused:
                await asyncio.sleep(self._retry_s)
            elif not remaining:
                # Wait for the next transition; look anyway now and then, for rows another
                # replica (or an earlier life of this one) left behind.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._retry_s * 5):
                        await self._wake_incidents.wait()
                self._wake_incidents.clear()

    async def relay_once(self) -> tuple[bool, int]:
        """Publish a batch of the outbox in order, deleting each row Kafka acknowledged;
        (whether Kafka refused one, rows left). Another replica publishing: (False, 0)."""
        async with self._pool.acquire() as connection, connection.transaction():
            if not await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", RELAY_LOCK):
                return False, 0
            rows = await incident_store.outbox_head(connection, self._batch)
            sent: list[int] = []
            for row in rows:
                event = IncidentEvent.model_validate(row["event"])  # never trust a read-back
                body = event.model_dump_json().encode()
                if not await self._send(Message(self._incidents_topic, row["check_name"], body)):
                    break
                sent.append(row["id"])
            # Acknowledged by Kafka: gone from the outbox when this transaction commits.
            await incident_store.outbox_delete(connection, sent)
            remaining = await incident_store.outbox_size(connection)
        OUTBOX.set(remaining)
        if sent:
            log.info("incident transitions published", extra={"count": len(sent)})
        return len(sent) < len(rows), remaining

    async def stop(self, flush_s: float = 5.0) -> None:
        """Give outbox rows up to `flush_s` to go out, then stop; the rest stays in
        Postgres for the next start."""
        if self._tasks:
            with contextlib.suppress(TimeoutError, *DATABASE_UNAVAILABLE):
                async with asyncio.timeout(flush_s):
                    while await self.pending_incidents():
                        self._wake_incidents.set()
                        await asyncio.sleep(0.05)
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(*DATABASE_UNAVAILABLE):
            if pending := await self.pending_incidents():
                log.warning(
                    "incident transitions not yet published; they wait in Postgres",
                    extra={"pending": pending},
                )
