"""The live stream: check results, incidents and backup progress from their Kafka topics,
plus a metrics tick, relayed to every connected dashboard as Server-Sent Events.

One Kafka consumer per dashboard-api process (no consumer group: every replica sees every
message, from the newest on) fans out to one bounded queue per connected client. A client
that does not keep up loses its oldest messages, never the others' and never the
process's memory; it is told how many it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from prometheus_client import Counter, Gauge

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.db import DATABASE_UNAVAILABLE
from lookout_common.infra.kafka import client_options
from lookout_common.infra.settings import LookoutSettings
from lookout_common.infra.supervise import Supervisor

log = logging.getLogger("lookout.dashboard.stream")

# Topic -> the SSE event name the page listens for.
STREAMED = {
    Topic.HEALTH_CHECKS: "check",
    Topic.HEALTH_INCIDENTS: "incident",
    Topic.BACKUP_RESULTS: "backup",
}

CLIENTS = Gauge("lookout_dashboard_stream_clients", "Dashboards connected to the live stream")
DROPPED = Counter(
    "lookout_dashboard_stream_dropped_total",
    "Stream messages dropped because a client did not keep up",
)
RELAYED = Counter("lookout_dashboard_stream_relayed_total", "Messages relayed, by kind", ["kind"])


@dataclass(eq=False)  # identity: two clients are never the same one
class Subscriber:
    queue: asyncio.Queue[tuple[str, str]]
    missed: int = 0
    key_id: int | None = None  # the API key the stream was opened with


class TooManyStreams(Exception):
    """The key already holds its allowed number of live streams."""


@dataclass(eq=False)
class Relay:
    """Fans Kafka messages and metric ticks out to the connected clients."""

    settings: LookoutSettings
    metrics: Callable[[], Awaitable[str]]
    tick_s: float = 5.0
    queue_size: int = 1000
    max_per_key: int = 5
    subscribers: set[Subscriber] = field(default_factory=set)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    latest_metrics: str | None = None  # sent first to a client that connects
    # Both loops run supervised: restarted with backoff, /healthz 503 while one keeps failing.
    supervisor: Supervisor = field(default_factory=Supervisor)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        self._tasks = [
            self.supervisor.spawn("dashboard-stream-kafka", self._consume),
            self.supervisor.spawn("dashboard-stream-metrics", self._tick),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def subscribe(self, key_id: int | None = None) -> Subscriber:
        """A new client's queue; raises TooManyStreams when `key_id` already holds
        `max_per_key` streams."""
        if key_id is not None:
            held = sum(1 for s in self.subscribers if s.key_id == key_id)
            if held >= self.max_per_key:
                raise TooManyStreams(
                    f"this API key already holds {held} live streams (the most allowed: "
                    f"{self.max_per_key}); close one first"
                )
        subscriber = Subscriber(asyncio.Queue(self.queue_size), key_id=key_id)
        self.subscribers.add(subscriber)
        CLIENTS.set(len(self.subscribers))
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)
        CLIENTS.set(len(self.subscribers))

    def broadcast(self, kind: str, data: str) -> None:
        RELAYED.labels(kind).inc()
        for subscriber in self.subscribers:
            if subscriber.queue.full():
                subscriber.queue.get_nowait()
                subscriber.missed += 1
                DROPPED.inc()
            subscriber.queue.put_nowait((kind, data))

    async def _consume(self) -> None:
        prefix = self.settings.topic_prefix
        kinds = {topic_name(topic, prefix): kind for topic, kind in STREAMED.items()}
        delay = 0.5
        while True:
            consumer = AIOKafkaConsumer(
                *kinds,
                **client_options(self.settings),
                client_id="lookout-dashboard-stream",
                group_id=None,
                auto_offset_reset="latest",
                enable_auto_commit=False,
            )
            try:
                await consumer.start()
                self.connected.set()
                delay = 0.5
                async for record in consumer:
                    data = _one_line(record.value)
                    if data is not None:
                        self.broadcast(kinds[record.topic], data)
            except (KafkaError, OSError, TimeoutError) as error:  # resumes when Kafka does
                log.warning("live stream lost Kafka; retrying", extra={"error": repr(error)})
            finally:
                self.connected.clear()
                with contextlib.suppress(Exception):
                    await consumer.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _tick(self) -> None:
        while True:
            try:
                if self.subscribers:
                    self.latest_metrics = await self.metrics()
                    self.broadcast("metrics", self.latest_metrics)
                else:
                    # Nobody watching: no query, and no stale numbers for the next client.
                    self.latest_metrics = None
            except (*DATABASE_UNAVAILABLE, asyncpg.QueryCanceledError) as error:
                log.warning("metrics tick failed", extra={"error": repr(error)})
            await asyncio.sleep(self.tick_s)


def _one_line(value: bytes | None) -> str | None:
    """The message as single-line JSON (an SSE data line), or None if it is not JSON."""
    try:
        return json.dumps(json.loads(value or b""), separators=(",", ":"))
    except (ValueError, UnicodeDecodeError):
        return None


def open_stream(relay: Relay, key_id: int, **options: Any) -> AsyncIterator[str]:
    """A new client's SSE body (`events`) under `key_id`'s allowance: raises TooManyStreams
    when the key holds its most streams. Its place is freed when the body ends, and also
    when a body that never started is dropped (a client gone before its first byte)."""
    subscriber = relay.subscribe(key_id)
    body = events(relay, subscriber, **options)
    weakref.finalize(body, relay.unsubscribe, subscriber)
    return body


def sse(kind: str, data: str, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {kind}\ndata: {data}\n\n"


async def events(
    relay: Relay,
    subscriber: Subscriber,
    *,
    is_disconnected: Callable[[], Awaitable[bool]],
    limit: int | None = None,
    keepalive_s: float = 15.0,
    key_valid: Callable[[], Awaitable[bool]] | None = None,
    key_check_s: float = 5.0,
) -> AsyncIterator[str]:
    """The SSE body for one client: a hello, the latest metrics, then everything relayed.
    Every `key_check_s` the stream asks `key_valid`; once the key is revoked it sends
    `revoked` and ends."""
    clock = asyncio.get_running_loop().time
    sent = 0
    try:
        hello = {"at": datetime.now(UTC).isoformat(), "kafka": relay.connected.is_set()}
        yield "retry: 3000\n\n" + sse("hello", json.dumps(hello))
        if relay.latest_metrics is not None:
            yield sse("metrics", relay.latest_metrics)
        quiet_since = next_check = clock()
        next_check += key_check_s
        while limit is None or sent < limit:
            wait = quiet_since + keepalive_s - clock()
            if key_valid is not None:
                wait = min(wait, next_check - clock())
            kind: str | None
            data: str | None
            try:
                # Not wait_for: on Python 3.11 it can swallow a cancellation (a client gone)
                # that arrives as an item does, and the stream would go on.
                async with asyncio.timeout(max(wait, 0.001)):
                    kind, data = await subscriber.queue.get()
            except TimeoutError:
                kind = data = None
            if key_valid is not None and clock() >= next_check:
                if not await key_valid():
                    yield sse("revoked", json.dumps({"reason": "the API key was revoked"}))
                    return
                next_check = clock() + key_check_s
            if kind is None or data is None:
                if clock() - quiet_since >= keepalive_s:
                    if await is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    quiet_since = clock()
                continue
            quiet_since = clock()
            if subscriber.missed:
                yield sse("missed", json.dumps({"messages": subscriber.missed}))
                subscriber.missed = 0
            sent += 1
            yield sse(kind, data, sent)
    finally:
        relay.unsubscribe(subscriber)
