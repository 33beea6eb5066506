"""The backup-worker process. Backups, restores and schedules arrive with the backups
issue; this process already owns the port, the probes and `/metrics`, and its readiness
says whether the backup target is usable."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import boto3
from fastapi import FastAPI

from lookout_common.db import create_pool, database_reachable
from lookout_common.service import add_probe_routes
from lookout_common.settings import BackupWorkerSettings


def _secret(value) -> str | None:
    return value.get_secret_value() if value is not None else None


def target_writable(settings: BackupWorkerSettings) -> bool:
    """The bucket answers, or the local directory accepts a file."""
    if settings.s3_bucket:
        client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=_secret(settings.s3_access_key_id),
            aws_secret_access_key=_secret(settings.s3_secret_access_key),
        )
        client.head_bucket(Bucket=settings.s3_bucket)
        return True
    settings.backup_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=settings.backup_dir, prefix=".probe-"):
        return True


def create_app(settings: BackupWorkerSettings | None = None) -> FastAPI:
    settings = settings or BackupWorkerSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(title="Lookout backup-worker", version="1.0", lifespan=lifespan)
    add_probe_routes(
        app,
        "backup-worker",
        lambda: {
            "postgres": lambda: database_reachable(app.state.pool),
            "target": lambda: asyncio.to_thread(target_writable, settings),
        },
    )
    return app
