"""The ingest process: one uvicorn server, or several worker processes sharing its port.

`LOOKOUT_INGEST_WORKERS` (default 1) sets how many. With more than one, uvicorn's
supervisor binds the port once and starts that many workers on it; each builds its own
services in its own lifespan (Kafka producer, Postgres pool, key cache, rate limiters,
dedupe cache), answers `/healthz` and `/readyz` for itself, and flushes its producer on
SIGTERM before it exits. The supervisor pings every worker: one that died or stopped
answering is killed and replaced, and one that fails during start-up stops the whole
process (it would fail the same way on every restart).
"""

from __future__ import annotations

import logging

import uvicorn
from fastapi import FastAPI
from pydantic import Field

from lookout_common.infra.logging import configure_logging
from lookout_common.infra.service import serve
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.app import create_app

log = logging.getLogger("lookout.ingest")

SERVICE = "ingest"
MAX_WORKERS = 64


class IngestServerSettings(IngestSettings):
    """`IngestSettings` and how many worker processes serve them."""

    ingest_workers: int = Field(
        1,
        ge=1,
        le=MAX_WORKERS,
        description="Worker processes sharing ingest's port (each with its own producer, "
        "pool, rate limits and dedupe cache)",
    )


def worker_app() -> FastAPI:
    """The app of one worker process, built in that process from the environment."""
    settings = IngestSettings()
    configure_logging(SERVICE, settings.log_level)
    return create_app(settings)


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
    uvicorn.run(
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
