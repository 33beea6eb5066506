"""The health-monitor process. Probing, status, uptime and incidents arrive with the
health-monitoring issue; this process already owns the port, the probes and `/metrics`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lookout_common.db import create_pool, database_reachable
from lookout_common.kafka import broker_reachable
from lookout_common.service import add_probe_routes
from lookout_common.settings import HealthMonitorSettings


def create_app(settings: HealthMonitorSettings | None = None) -> FastAPI:
    settings = settings or HealthMonitorSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(title="Lookout health-monitor", version="1.0", lifespan=lifespan)
    add_probe_routes(
        app,
        "health-monitor",
        lambda: {
            "postgres": lambda: database_reachable(app.state.pool),
            "kafka": lambda: broker_reachable(settings),
        },
    )
    return app
