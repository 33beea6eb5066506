"""Aggregator throughput with one and with two processes in one consumer group, against a
raw COPY of the same rows, measured in the same run.

For each process count, on a fresh database and a fresh 4-partition topic: the aggregator
processes are started and wait until the group has handed out all four partitions, then
`--events` events (bench/ingest.py's mix, keyed by person as ingest keys them) are
produced. The rate is the events stored after production ended over the time from then
until the last one was stored: every process has a backlog for the whole window, so
process start-up and the group's join are not counted. After each drain the counts are
checked (raw rows, ledger and event-count rollups all equal `--events`) and the deadlocks
Postgres saw in that database are printed.

  raw COPY               binary COPY of the same rows into an index-free table
  aggregator, 1 process  events/s, and its ratio to raw COPY (target >= 0.09)
  aggregator, 2 processes events/s, and its ratio to 1 process (target >= 1.7)

Each figure is the median of --repeats runs. `--profile DIR` records each aggregator
process with py-spy (raw collapsed stacks, one file per process and run) and writes
EXPLAIN ANALYZE of one batch of the batch statement to DIR/explain.txt.

Usage: .venv/bin/python bench/aggregator.py [--events 60000] [--repeats 3] [--processes 1 2]
Set LOOKOUT_BENCH_DATABASE_URL / LOOKOUT_BENCH_KAFKA_BOOTSTRAP to use external services.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from _stack import Service, clock, fresh_database, infrastructure, median, settings_for
from aiokafka import AIOKafkaProducer
from ingest import envelope_bytes, raw_copy, segment_events

from lookout_aggregator.store import ensure_partitions, store_batch
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.apikeys import Role, create_key
from lookout_common.infra.kafka import ensure_topics

PARTITIONS = 4


async def produce(bootstrap: str, topic: str, payloads: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k) for k, v in payloads]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def wait_assigned(services: list[Service], admin_key: str) -> None:
    """Until every process holds partitions and together they hold all of them."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(600):
            held = []
            for service in services:
                response = await client.get(f"{service.url}/lag", headers=headers)
                held.append(response.json()["partitions"] if response.status_code == 200 else [])
            if all(held) and sum(len(h) for h in held) == PARTITIONS:
                return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"partitions never all assigned: {held}")


def start_profiles(services: list[Service], directory: Path, label: str) -> list:
    return [
        subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--format",
                "raw",
                "--rate",
                "200",
                "-o",
                str(directory / f"{label}-{index}.txt"),
                "--pid",
                str(service.process.pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for index, service in enumerate(services)
    ]


async def run_processes(
    server_url: str,
    bootstrap: str,
    scratch: Path,
    count: int,
    events: list,
    profile: Path | None,
    label: str,
    env: dict[str, str],
) -> float:
    database_url = await fresh_database(server_url)
    settings = settings_for(database_url, bootstrap, f"agg{uuid.uuid4().hex[:8]}.")
    await ensure_topics(settings)
    connection = await asyncpg.connect(database_url)
    try:
        admin_key = await create_key(connection, Role.ADMIN, "bench")
        services = [Service("lookout_aggregator", settings, scratch, **env) for _ in range(count)]
        try:
            for service in services:
                await service.start()
            await wait_assigned(services, admin_key)
            profilers = start_profiles(services, profile, label) if profile else []
            await produce(
                bootstrap, topic_name(Topic.EVENTS, settings.topic_prefix), envelope_bytes(events)
            )
            started = clock()
            backlog = len(events) - await connection.fetchval("SELECT count(*) FROM event_ids")
            while await connection.fetchval("SELECT count(*) FROM event_ids") < len(events):
                for service in services:
                    if service.process.poll() is not None:
                        raise RuntimeError(f"aggregator exited; see {service.log}")
                await asyncio.sleep(0.01)
            rate = backlog / (clock() - started)
            for profiler in profilers:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(30)
        finally:
            for service in services:
                service.stop()
        raw = await connection.fetchval("SELECT count(*) FROM user_analytics")
        rolled = await connection.fetchval("SELECT sum(events) FROM rollup_event_counts")
        deadlocks = await connection.fetchval(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        )
        if (raw, rolled) != (len(events), len(events)):
            raise RuntimeError(f"counts wrong: raw {raw}, rollup {rolled}, sent {len(events)}")
        print(
            f"  {count} process{'es' if count > 1 else ''}: {rate:>9,.0f} events/s "
            f"({backlog:,} of {len(events):,} drained in the window; counts exact; "
            f"deadlocks {deadlocks})",
            flush=True,
        )
        return rate
    finally:
        await connection.close()


async def explain(server_url: str, events: list, path: Path, batch: int = 5000) -> None:
    """EXPLAIN ANALYZE of one batch of the batch statement, after the others were stored."""
    try:
        from lookout_aggregator.store import explain_batch
    except ImportError:  # an aggregator from before explain_batch existed
        print("  (this aggregator has no explain_batch: no EXPLAIN)")
        return
    database_url = await fresh_database(server_url)
    connection = await asyncpg.connect(database_url)
    try:
        values = [value for _, value in envelope_bytes(events)]
        await ensure_partitions(connection, {datetime.now(UTC).date(), _tomorrow()})
        for start in range(0, len(values) - batch, batch):
            async with connection.transaction():
                await store_batch(connection, values[start : start + batch])
        plan = await explain_batch(connection, values[-batch:])
        await asyncio.to_thread(path.write_text, plan)
    finally:
        await connection.close()


def _tomorrow() -> date:
    return (datetime.now(UTC) + timedelta(days=1)).date()


async def main(
    events_count: int,
    repeats: int,
    processes: list[int],
    profile: Path | None,
    env: dict[str, str],
) -> None:
    print(f"load average before: {os.getloadavg()}", flush=True)
    figures: dict[int, list[float]] = {count: [] for count in processes}
    copies: list[float] = []
    with infrastructure() as (server_url, bootstrap, scratch):
        for run in range(repeats):
            print(f"run {run + 1}", flush=True)
            events = segment_events(events_count)
            for count in processes:
                figures[count].append(
                    await run_processes(
                        server_url,
                        bootstrap,
                        scratch,
                        count,
                        events,
                        profile,
                        f"p{count}-r{run}",
                        env,
                    )
                )
            database_url = await fresh_database(server_url)
            copies.append(await raw_copy(settings_for(database_url, bootstrap, "copy."), events))
            print(f"  raw COPY: {copies[-1]:>9,.0f} events/s", flush=True)
        if profile:
            await explain(server_url, segment_events(events_count), profile / "explain.txt")
    copy = median(copies)
    print(f"\nmedians of {repeats} runs, {events_count:,} events each, {PARTITIONS} partitions")
    print(f"raw COPY                : {copy:>10,.0f} events/s")
    for count in processes:
        rate = median(figures[count])
        line = f"aggregator, {count} process{'es' if count > 1 else '  '}: {rate:>10,.0f} events/s"
        line += f"   ratio to raw COPY {rate / copy:.3f}"
        if count == 1:
            line += " (target >= 0.09)"
        elif 1 in figures:
            line += f", to 1 process {rate / median(figures[1]):.2f} (target >= 1.7)"
        print(line)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--profile", type=Path, default=None)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an aggregator setting for every process, e.g. LOOKOUT_BATCH_MAX_RECORDS=10000",
    )
    arguments = parser.parse_args()
    env = dict(item.split("=", 1) for item in arguments.set)
    if arguments.profile:
        arguments.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(
        main(arguments.events, arguments.repeats, arguments.processes, arguments.profile, env)
    )
