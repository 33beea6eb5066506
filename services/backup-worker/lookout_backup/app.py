"""The backup-worker process: consumes `backup.commands.v1`, runs one command at a time
per source, publishes `backup.results.v1`, and serves its runs over HTTP. Its services
are built in the lifespan (`bootstrap`); this module adds the routers and `/healthz`,
`/readyz`, `/metrics`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lookout_backup.bootstrap import app_services, bootstrap, target_writable
from lookout_backup.routes import runs, schedules
from lookout_common.infra.db import database_reachable
from lookout_common.infra.kafka import broker_reachable
from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import BackupWorkerSettings
from lookout_common.infra.supervise import Supervisor


def create_app(settings: BackupWorkerSettings | None = None) -> FastAPI:
    settings = settings or BackupWorkerSettings()
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings, loops) as services:
            app_services.store(app, services)
            app.state.keys = services.keys  # lookout_common.infra.auth reads it here
            yield

    app = FastAPI(
        title="Lookout backup-worker",
        version=distribution_version("lookout-backup-worker"),
        description="Backs up the product's tables and restores them after verifying them.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    add_probe_routes(
        app,
        "backup-worker",
        lambda: {
            "postgres": lambda: database_reachable(app_services.of(app).pool),
            "kafka": lambda: broker_reachable(settings),
            "target": lambda: asyncio.to_thread(target_writable, settings),
        },
        loops=loops,
    )
    app.include_router(runs.router)
    app.include_router(schedules.router)
    return app
