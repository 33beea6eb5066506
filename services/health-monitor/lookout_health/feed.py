"""Results and incident transitions onto Kafka, off the checks' own path.

Postgres is the record; Kafka is the feed other processes follow. A broker that is down
or slow must not hold up a single check, so runs only enqueue and two background tasks
publish: results best-effort (a bounded queue, the oldest dropped when full, a failed
publish not retried), incident transitions in order and retried until published, since
the alert consumer reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from faststream.kafka import KafkaBroker
from prometheus_client import Counter

log = logging.getLogger("lookout.health.feed")

NOT_PUBLISHED = Counter(
    "lookout_health_feed_not_published_total",
    "Messages the monitor could not put on Kafka, by topic and reason",
    ["topic", "reason"],
)


@dataclass(frozen=True)
class Message:
    topic: str
    key: str
    body: bytes


class KafkaFeed:
    def __init__(
        self,
        broker: KafkaBroker,
        *,
        capacity: int = 10_000,
        timeout_s: float = 10.0,
        retry_s: float = 1.0,
    ) -> None:
        self._broker = broker
        self._timeout_s = timeout_s
        self._retry_s = retry_s
        self._results: deque[Message] = deque(maxlen=capacity)
        self._incidents: deque[Message] = deque()
        self._wake_results = asyncio.Event()
        self._wake_incidents = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._failing = False

    def result(self, topic: str, key: str, body: str) -> None:
        """Queue a check result; returns at once."""
        if len(self._results) == self._results.maxlen:
            NOT_PUBLISHED.labels(topic, "queue_full").inc()
        self._results.append(Message(topic, key, body.encode()))
        self._wake_results.set()
        self._ensure_running()

    def incident(self, topic: str, key: str, body: str) -> None:
        """Queue an incident transition; it is published after every earlier one."""
        self._incidents.append(Message(topic, key, body.encode()))
        self._drained.clear()
        self._wake_incidents.set()
        self._ensure_running()

    @property
    def pending_incidents(self) -> int:
        return len(self._incidents)

    def _ensure_running(self) -> None:
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._publish_results(), name="feed-results"),
                asyncio.create_task(self._publish_incidents(), name="feed-incidents"),
            ]

    async def _send(self, message: Message) -> bool:
        try:
            await asyncio.wait_for(
                self._broker.publish(message.body, message.topic, key=message.key.encode()),
                self._timeout_s,
            )
        except Exception as error:  # noqa: BLE001 - any broker failure: count, log once
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

    async def _publish_incidents(self) -> None:
        while True:
            await self._wake_incidents.wait()
            self._wake_incidents.clear()
            while self._incidents:
                if await self._send(self._incidents[0]):
                    self._incidents.popleft()
                    if not self._incidents:
                        self._drained.set()
                else:
                    await asyncio.sleep(self._retry_s)

    async def stop(self, flush_s: float = 5.0) -> None:
        """Give queued incident transitions up to `flush_s` to go out, then stop."""
        if self._incidents and self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), flush_s)
        if self._incidents:
            log.error(
                "incident transitions not published before shutdown; Postgres has them",
                extra={"pending": len(self._incidents)},
            )
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
