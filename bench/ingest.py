"""Ingest and aggregation throughput, and end-to-end freshness, against raw baselines.

Measured in one run on this machine, each figure the median of --repeats runs, for each
embedded broker storage engine (--engine): `memory` and `s3` (Tansu's log in SeaweedFS, the
durable default of `lookout up`), each against a raw producer on the same engine:
  raw aiokafka producer (acks=all) events/s for the same payloads
  ingest events/s via /v1/batch (100 events a request, 32 concurrent) and its ratio to raw,
    with one ingest worker process (LOOKOUT_INGEST_WORKERS=1) and with two, and where
    their time went: CPU per event, the shares of the run their event loop was on a CPU
    and waiting for one
  aggregator drain events/s into Postgres and its ratio to a raw COPY of the same rows
  freshness: POST to visible in /api/v1/dashboard/metrics, p50 / p95

Usage: .venv/bin/python bench/ingest.py [--events 50000] [--repeats 3] [--engine both]
Set LOOKOUT_BENCH_DATABASE_URL / LOOKOUT_BENCH_KAFKA_BOOTSTRAP to use external services
(LOOKOUT_BENCH_KAFKA_BOOTSTRAP replaces the memory engine's broker).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from _stack import (
    Service,
    clock,
    fresh_database,
    infrastructure,
    median,
    percentile,
    settings_for,
)
from aiokafka import AIOKafkaProducer

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.apikeys import Role, create_key
from lookout_common.infra.kafka import ensure_topics
from lookout_devstack.embedded.process import free_port

BATCH = 100
CONCURRENCY = 32
# A broker slowed by a loaded machine answers late rather than never: the throughput runs
# wait for its acks instead of stopping at the 503 of the default 5 s.
INGEST_ENV = {"LOOKOUT_PUBLISH_TIMEOUT_S": "60"}


def segment_events(count: int) -> list[dict]:
    """A realistic mix: page views, searches, bookings, chats, errors, custom events."""
    now = datetime.now(UTC).isoformat()
    events = []
    for index in range(count):
        actor = f"anon-{random.randint(1, 5000)}"
        kind = index % 10
        if kind < 4:
            message = {"type": "page", "name": "Home", "properties": {"path": f"/p/{kind}"}}
        elif kind < 6:
            message = {
                "type": "track",
                "event": "search_performed",
                "properties": {"query": "thai massage berlin", "resultsCount": 7},
            }
        elif kind == 6:
            message = {
                "type": "track",
                "event": "booking_completed",
                "properties": {
                    "therapistId": "t-1",
                    "serviceType": "thai",
                    "duration": 60,
                    "totalPrice": 70,
                    "currency": "EUR",
                },
            }
        elif kind == 7:
            message = {"type": "track", "event": "chat_started", "properties": {"chatId": actor}}
        elif kind == 8:
            message = {
                "type": "track",
                "event": "error_occurred",
                "properties": {"message": "boom", "type": "TypeError"},
            }
        else:
            message = {"type": "track", "event": "gift_card_viewed", "properties": {"v": index}}
        message.update({"messageId": uuid.uuid4().hex, "anonymousId": actor, "timestamp": now})
        events.append(message)
    return events


def envelope_bytes(events: list[dict]) -> list[tuple[bytes, bytes]]:
    """What ingest publishes for these events (same size and keys), for the raw producer."""
    now = datetime.now(UTC).isoformat()
    out = []
    for message in events:
        envelope = {
            "schema_version": 1,
            "event_id": message["messageId"],
            "kind": message["type"],
            "event": message.get("event", "page_view"),
            "anonymous_id": message["anonymousId"],
            "user_id": None,
            "properties": message["properties"],
            "traits": {},
            "context": {},
            "timestamp": message["timestamp"],
            "received_at": now,
            "sent_at": None,
            "source": "bench",
            "request_id": uuid.uuid4().hex,
        }
        out.append((message["anonymousId"].encode(), json.dumps(envelope).encode()))
    return out


async def raw_producer(bootstrap: str, topic: str, payloads: list[tuple[bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=2, max_batch_size=256 * 1024
    )
    await producer.start()
    try:
        started = clock()
        futures = [await producer.send(topic, value=v, key=k) for k, v in payloads]
        await asyncio.gather(*futures)
        return len(payloads) / (clock() - started)
    finally:
        await producer.stop()


def scheduled_seconds(pid: int) -> tuple[float, float, float]:
    """(CPU of all threads, event loop thread on a CPU, event loop thread runnable but
    waiting for one) in seconds so far, summed over process `pid` and its child processes
    (the workers of LOOKOUT_INGEST_WORKERS=2). From Linux's /proc: utime + stime (which
    keep the CPU of threads that ended), and the main thread's schedstat (nanoseconds)."""
    pids = [pid]
    with contextlib.suppress(OSError):
        pids += [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
    cpu = running = waiting = 0.0
    for process in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{process}/stat").read_text().rpartition(")")[2].split()
            cpu += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            on_cpu, queued, _ = Path(f"/proc/{process}/schedstat").read_text().split()
            running, waiting = running + int(on_cpu) / 1e9, waiting + int(queued) / 1e9
    return cpu, running, waiting


async def timed_ingest(service: Service, write_key: str, events: list[dict]) -> tuple[float, Split]:
    """Events/s through `service`, and how its processes spent the run (`Split`)."""
    before, started = scheduled_seconds(service.process.pid), clock()
    rate = await through_ingest(service.url, write_key, events)
    after, wall = scheduled_seconds(service.process.pid), clock() - started
    cpu, running, waiting = (after[i] - before[i] for i in range(3))
    return rate, Split(cpu * 1e6 / len(events), running / wall, waiting / wall)


@dataclasses.dataclass(frozen=True)
class Split:
    """Where an ingest run's time went: CPU microseconds per event (all threads), and the
    shares of the run's wall time its event loop thread spent on a CPU and waiting for one
    (summed over workers, so two busy workers make up to 2). What is left of 1 (one worker)
    is time the loop had nothing to run: waiting for the client or for Kafka's acks."""

    cpu_us_per_event: float
    on_cpu: float
    waiting_for_cpu: float

    def __str__(self) -> str:
        return (
            f"{self.cpu_us_per_event:.0f} us CPU/event, "
            f"event loop on a CPU {self.on_cpu:.2f} and waiting for one "
            f"{self.waiting_for_cpu:.2f} of the run"
        )


async def through_ingest(url: str, write_key: str, events: list[dict]) -> float:
    # Encoded before the clock starts, as the raw producer's payloads are: the figure is
    # ingest's, not the bench client's JSON encoder's.
    bodies = [
        json.dumps({"batch": events[i : i + BATCH]}).encode() for i in range(0, len(events), BATCH)
    ]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=url, auth=(write_key, ""), limits=limits, timeout=30
    ) as client:

        async def post(body: bytes) -> httpx.Response:
            # A saturated server can close a kept-alive connection as the next request
            # goes out on it; that request is sent again, as browsers do (a second copy of
            # its messageIds is dropped by ingest's dedupe or the aggregator's event_id).
            for attempt in range(3):
                try:
                    return await client.post("/v1/batch", content=body, headers=headers)
                except (httpx.ReadError, httpx.RemoteProtocolError):
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                response = await post(body)
                if response.status_code != 200:
                    raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")

        started = clock()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return len(events) / (clock() - started)


async def drain(settings, scratch, expected: int) -> float:
    """Aggregator events/s: events stored after the first poll that saw any, over the time
    from that poll to the one that saw them all (process start-up is not counted)."""
    connection = await asyncpg.connect(settings.dsn())
    aggregator = Service("lookout_aggregator", settings, scratch).spawn()
    try:
        first = None
        while True:
            stored = await connection.fetchval("SELECT count(*) FROM event_ids")
            now = clock()
            if stored and first is None:
                first = (now, stored)
            if stored >= expected:
                return (stored - first[1]) / max(now - first[0], 1e-6)
            if aggregator.process.poll() is not None:
                raise RuntimeError(f"aggregator exited; see {aggregator.log}")
            await asyncio.sleep(0.01)
    finally:
        await connection.close()
        aggregator.stop()


async def raw_copy(settings, events: list[dict]) -> float:
    """COPY of the same rows into a table shaped like user_analytics (no indexes)."""
    connection = await asyncpg.connect(settings.dsn())
    try:
        await connection.execute("CREATE TABLE raw_copy (LIKE user_analytics INCLUDING DEFAULTS)")
        now = datetime.now(UTC)
        rows = [
            (
                m["messageId"],
                now,
                now,
                m["type"],
                m.get("event", "page_view"),
                None,
                m["anonymousId"],
                None,
                json.dumps(m["properties"]),
                "{}",
                "bench",
            )
            for m in events
        ]
        started = clock()
        await connection.copy_records_to_table(
            "raw_copy",
            records=rows,
            columns=[
                "event_id",
                "occurred_at",
                "received_at",
                "kind",
                "event",
                "user_id",
                "anonymous_id",
                "session_id",
                "properties",
                "context",
                "source",
            ],
        )
        return len(rows) / (clock() - started)
    finally:
        await connection.close()


async def freshness(settings, scratch, write_key: str, admin_key: str, samples: int) -> list:
    services = [
        await Service("lookout_aggregator", settings, scratch).start(),
        await Service("lookout_dashboard", settings, scratch).start(),
        await Service("lookout_ingest", settings, scratch).start(),
    ]
    _aggregator, dashboard, ingest = services
    latencies = []
    try:
        headers = {"Authorization": f"Bearer {admin_key}"}
        async with httpx.AsyncClient(timeout=10) as client:

            async def bookings() -> int:
                response = await client.get(
                    f"{dashboard.url}/api/v1/dashboard/metrics", headers=headers
                )
                return response.json()["todayBookings"]

            for _ in range(samples):
                before = await bookings()
                event = segment_events(7)[6]
                started = clock()
                response = await client.post(
                    f"{ingest.url}/v1/track", json=event, auth=(write_key, "")
                )
                response.raise_for_status()
                while await bookings() <= before:
                    await asyncio.sleep(0.01)
                latencies.append(clock() - started)
    finally:
        for service in reversed(services):
            service.stop()
    return latencies


@contextlib.contextmanager
def broker(engine: str, scratch, memory_bootstrap: str):
    """The bootstrap of a broker on `engine`: the shared memory one, or Tansu on S3."""
    if engine == "memory":
        yield memory_bootstrap
        return
    from lookout_devstack.embedded.kafka import BROKER_BUCKET, EmbeddedKafka
    from lookout_devstack.embedded.s3 import PORT_NAMES, EmbeddedS3

    directory = scratch / "s3-engine"
    directory.mkdir()
    s3 = EmbeddedS3(
        directory / "s3",
        {name: free_port() for name in PORT_NAMES},
        log_path=directory / "seaweedfs.log",
    )
    try:
        s3.start([BROKER_BUCKET])
        kafka = EmbeddedKafka(directory, s3_environment=s3.broker_environment())
        try:
            yield kafka.start()
        finally:
            kafka.stop()
    finally:
        s3.stop()


async def measure(server_url: str, bootstrap: str, scratch, events_count: int, repeats: int):
    raw, ingest, ingest2, agg, copy = [], [], [], [], []
    splits: list[Split] = []
    splits2: list[Split] = []
    for run in range(repeats):
        database_url = await fresh_database(server_url)
        settings = settings_for(database_url, bootstrap, f"bench{run}{uuid.uuid4().hex[:6]}.")
        await ensure_topics(settings)
        connection = await asyncpg.connect(database_url)
        write_key = await create_key(connection, Role.INGEST, "bench")
        await connection.close()
        events = segment_events(events_count)
        raw_topic = topic_name(Topic.EVENTS, settings.topic_prefix + "raw.")
        await ensure_topics(settings_for(database_url, bootstrap, settings.topic_prefix + "raw."))
        raw.append(await raw_producer(bootstrap, raw_topic, envelope_bytes(events)))
        service = await Service("lookout_ingest", settings, scratch, **INGEST_ENV).start()
        try:
            rate, split = await timed_ingest(service, write_key, events)
            ingest.append(rate)
            splits.append(split)
        finally:
            service.stop()
        # Two workers publish to topics of their own: the aggregator below drains the
        # one-worker run's events only, as it always has.
        settings2 = settings_for(database_url, bootstrap, settings.topic_prefix + "w2.")
        await ensure_topics(settings2)
        service = await Service(
            "lookout_ingest", settings2, scratch, LOOKOUT_INGEST_WORKERS="2", **INGEST_ENV
        ).start()
        try:
            rate, split = await timed_ingest(service, write_key, events)
            ingest2.append(rate)
            splits2.append(split)
        finally:
            service.stop()
        agg.append(await drain(settings, scratch, events_count))
        copy.append(await raw_copy(settings, events))
        print(
            f"run {run + 1}: raw producer {raw[-1]:,.0f}/s  ingest {ingest[-1]:,.0f}/s  "
            f"aggregator {agg[-1]:,.0f}/s  raw COPY {copy[-1]:,.0f}/s",
            flush=True,
        )
        print(f"run {run + 1}: ingest: {splits[-1]}", flush=True)
        print(
            f"run {run + 1}: ingest with 2 workers {ingest2[-1]:,.0f}/s: {splits2[-1]}", flush=True
        )
    database_url = await fresh_database(server_url)
    settings = settings_for(database_url, bootstrap, f"fresh{uuid.uuid4().hex[:6]}.")
    await ensure_topics(settings)
    connection = await asyncpg.connect(database_url)
    write_key = await create_key(connection, Role.INGEST, "bench")
    admin_key = await create_key(connection, Role.ADMIN, "bench")
    await connection.close()
    latencies = await freshness(settings, scratch, write_key, admin_key, samples=40)
    return {
        "raw": median(raw),
        "ingest": median(ingest),
        "ingest2": median(ingest2),
        "split": median_split(splits),
        "split2": median_split(splits2),
        "aggregator": median(agg),
        "copy": median(copy),
        "p50": percentile(latencies, 0.5),
        "p95": percentile(latencies, 0.95),
    }


def median_split(splits: list[Split]) -> Split:
    return Split(*(median([getattr(s, f.name) for s in splits]) for f in dataclasses.fields(Split)))


def report(engine: str, figures: dict, events_count: int, repeats: int) -> None:
    print(f"\n{engine} engine: medians of {repeats} runs, {events_count:,} events each")
    print(f"raw aiokafka producer : {figures['raw']:>10,.0f} events/s")
    print(
        f"ingest /v1/batch      : {figures['ingest']:>10,.0f} events/s   "
        f"ratio {figures['ingest'] / figures['raw']:.2f} (target >= 0.5)"
    )
    print(
        f"ingest, 2 workers     : {figures['ingest2']:>10,.0f} events/s   "
        f"ratio {figures['ingest2'] / figures['raw']:.2f} (target >= 0.5)"
    )
    print(f"ingest, 1 worker      : {figures['split']}")
    print(f"ingest, 2 workers     : {figures['split2']}")
    print(f"raw COPY              : {figures['copy']:>10,.0f} events/s")
    print(
        f"aggregator drain      : {figures['aggregator']:>10,.0f} events/s   "
        f"ratio {figures['aggregator'] / figures['copy']:.2f} (target >= 0.09)"
    )
    print(
        f"freshness             : p50 {figures['p50'] * 1000:.0f} ms, "
        f"p95 {figures['p95'] * 1000:.0f} ms (target p95 <= 2000 ms)"
    )


async def main(events_count: int, repeats: int, engines: list[str]) -> None:
    results = {}
    with infrastructure() as (server_url, memory_bootstrap, scratch):
        for engine in engines:
            print(f"-- {engine} engine", flush=True)
            with broker(engine, scratch, memory_bootstrap) as bootstrap:
                results[engine] = await measure(
                    server_url, bootstrap, scratch, events_count, repeats
                )
    for engine, figures in results.items():
        report(engine, figures, events_count, repeats)
    if len(results) == 2:
        durable, memory = results["s3"], results["memory"]
        print(
            "\ncost of durability (s3 / memory):"
            f" raw producer {durable['raw'] / memory['raw']:.2f},"
            f" ingest {durable['ingest'] / memory['ingest']:.2f},"
            f" aggregator {durable['aggregator'] / memory['aggregator']:.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--engine", choices=["memory", "s3", "both"], default="both")
    arguments = parser.parse_args()
    engines = ["memory", "s3"] if arguments.engine == "both" else [arguments.engine]
    asyncio.run(main(arguments.events, arguments.repeats, engines))
