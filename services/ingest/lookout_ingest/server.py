"""The ingest process: one uvicorn server, or several worker processes sharing its port.

`LOOKOUT_INGEST_WORKERS` (default 1) sets how many. With more than one, uvicorn's
supervisor binds the port once and starts that many workers on it; each builds its own
services in its own lifespan (Kafka producer, Postgres pool, key cache, dedupe cache),
answers `/healthz` and `/readyz` for itself, and flushes its producer on SIGTERM before it
exits. The supervisor pings every worker: one that died or stopped answering is killed
and replaced, and one that fails during start-up stops the whole process (it would fail
the same way on every restart).

What the workers share lives in a private directory the supervisor makes for the run
(and removes when it stops): the rate limits' table of buckets (`shared_limits`), and
prometheus_client's multiprocess files (`PROMETHEUS_MULTIPROC_DIR`), so that `/metrics`
on any worker counts what all of them did. Both are named to the workers in the
environment they start with.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from prometheus_client.multiprocess import mark_process_dead
from pydantic import Field
from uvicorn.supervisors import Multiprocess

from lookout_common.infra.logging import configure_logging
from lookout_common.infra.metrics import MULTIPROCESS_DIR
from lookout_common.infra.service import serve
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.app import create_app
from lookout_ingest.bootstrap import bootstrap
from lookout_ingest.shared_limits import TABLE_ENV, BucketTable

log = logging.getLogger("lookout.ingest")

SERVICE = "ingest"
MAX_WORKERS = 64


class IngestServerSettings(IngestSettings):
    """`IngestSettings` and how many worker processes serve them."""

    ingest_workers: int = Field(
        1,
        ge=1,
        le=MAX_WORKERS,
        description="Worker processes sharing ingest's port, its rate limits and its "
        "/metrics (each with its own producer, pool and dedupe cache)",
    )


def worker_app() -> FastAPI:
    """The app of one worker process, built in that process from the environment (the
    supervisor's settings, and the rate limits' table it made)."""
    settings = IngestSettings()
    configure_logging(SERVICE, settings.log_level)
    return create_app(
        settings, functools.partial(bootstrap, shared_limits=Path(os.environ[TABLE_ENV]))
    )


class WorkerSupervisor(Multiprocess):
    """uvicorn's supervisor, which also marks each worker it replaces dead in the
    multiprocess metrics (its live gauges' files go; its counters stay counted)."""

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                mark_process_dead(pid, os.environ[MULTIPROCESS_DIR])  # type: ignore[no-untyped-call]


def run(settings: IngestServerSettings) -> None:
    """Serve until SIGTERM; see the module docstring."""
    # Whether X-Forwarded-For is believed is ingest's own setting (trust_forwarded_for):
    # uvicorn would otherwise rewrite the client address from it for loopback peers,
    # letting any local client pick the IP that is rate limited and stored.
    if settings.ingest_workers == 1:
        serve(create_app(settings), settings, SERVICE, proxy_headers=False)
        return
    configure_logging(SERVICE, settings.log_level)
    log.info(
        "starting",
        extra={
            "http": f"{settings.http_host}:{settings.http_port}",
            "kafka": settings.kafka_bootstrap,
            "workers": settings.ingest_workers,
        },
    )
    with tempfile.TemporaryDirectory(prefix="lookout-ingest-") as shared:
        metrics = Path(shared, "metrics")
        metrics.mkdir()
        table = Path(shared, "rate-limits")
        BucketTable.create(table)
        # Spawned workers start with this environment (prometheus_client reads its
        # directory when it is first imported there).
        os.environ[MULTIPROCESS_DIR] = str(metrics)
        os.environ[TABLE_ENV] = str(table)
        supervise(settings)


def supervise(settings: IngestServerSettings) -> None:
    """`settings.ingest_workers` workers of `worker_app` on one bound socket, under
    `WorkerSupervisor`, until SIGTERM."""
    config = uvicorn.Config(
        f"{__name__}:worker_app",
        factory=True,
        workers=settings.ingest_workers,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=30,
        lifespan="on",
        proxy_headers=False,
    )
    WorkerSupervisor(config, sockets=[config.bind_socket()]).run()
