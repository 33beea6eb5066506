"""Shared bench plumbing: resolve Postgres and Kafka (env URL, else embedded), run services."""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx

from lookout_common.infra.migrate import migrate
from lookout_common.infra.settings import LookoutSettings
from lookout_devstack.embedded.process import free_port, spawn, stop_process


@contextlib.contextmanager
def infrastructure() -> Iterator[tuple[str, str, Path]]:
    """(postgres server URL, kafka bootstrap, scratch dir), embedded unless set in env."""
    scratch = Path(tempfile.mkdtemp(prefix="lookout-bench-"))
    scratch.chmod(0o755)
    postgres = kafka = None
    server_url = os.environ.get("LOOKOUT_BENCH_DATABASE_URL")
    bootstrap = os.environ.get("LOOKOUT_BENCH_KAFKA_BOOTSTRAP")
    try:
        if not server_url:
            from lookout_devstack.embedded.postgres import EmbeddedPostgres

            postgres = EmbeddedPostgres(scratch / "pg")
            server_url = postgres.start()
        if not bootstrap:
            from lookout_devstack.embedded.kafka import EmbeddedKafka

            kafka = EmbeddedKafka(scratch)
            bootstrap = kafka.start()
        yield server_url, bootstrap, scratch
    finally:
        if kafka is not None:
            if kafka.process is not None and kafka.process.poll() is not None:
                print(f"embedded broker exited early with code {kafka.process.returncode}")
            kafka.stop()
        if postgres is not None:
            postgres.stop()


async def fresh_database(server_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{server_url.rpartition('/')[0]}/{name}"
    connection = await asyncpg.connect(url)
    await migrate(connection)
    await connection.close()
    return url


def settings_for(database_url: str, bootstrap: str, prefix: str) -> LookoutSettings:
    return LookoutSettings(
        database_url=database_url, kafka_bootstrap=bootstrap, topic_prefix=prefix
    )


class Service:
    def __init__(self, module: str, settings: LookoutSettings, scratch: Path, **env: str) -> None:
        self.port = free_port()
        self.module = module
        self.env = {
            **os.environ,
            "LOOKOUT_DATABASE_URL": settings.dsn(),
            "LOOKOUT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "LOOKOUT_TOPIC_PREFIX": settings.topic_prefix,
            "LOOKOUT_HTTP_PORT": str(self.port),
            "LOOKOUT_LOG_LEVEL": "WARNING",
            # One bench client is one write key on one IP far above any real client's rate:
            # the abuse limits are off so the figure measures the pipeline, not the limiter.
            "LOOKOUT_KEY_RATE_PER_S": "0",
            "LOOKOUT_IP_RATE_PER_S": "0",
            **env,
        }
        self.log = scratch / f"{module}-{self.port}.log"
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def spawn(self) -> Service:
        """Start the process without waiting for it to be ready."""
        self.process = spawn([sys.executable, "-m", self.module], self.log, env=self.env)
        return self

    async def start(self) -> Service:
        self.spawn()
        async with httpx.AsyncClient() as client:
            for _ in range(300):
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
                if self.process.poll() is not None:
                    break
        raise RuntimeError(f"{self.module} not ready; see {self.log}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def clock() -> float:
    return time.perf_counter()


async def timed_ms(action: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    """Milliseconds of each of `runs` awaits of `action()`, one after another."""
    samples = []
    for _ in range(runs):
        started = clock()
        await action()
        samples.append((clock() - started) * 1000)
    return samples
