"""The health-monitor process: its services built in the lifespan (`bootstrap`), the
routers, and `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lookout_common.infra.db import database_reachable
from lookout_common.infra.kafka import broker_reachable
from lookout_common.infra.service import add_probe_routes, api_docs
from lookout_common.infra.settings import HealthMonitorSettings
from lookout_common.infra.supervise import Supervisor
from lookout_health.bootstrap import VERSION, app_services, bootstrap
from lookout_health.http_logging import quiet_http_client_logs
from lookout_health.routes import checks, config, heartbeats, ietf, incidents, maintenance, status
from lookout_health.routes.sla import router as sla_router
from lookout_health.status_page.routes import router as status_page_router


def create_app(settings: HealthMonitorSettings | None = None) -> FastAPI:
    settings = settings or HealthMonitorSettings()
    quiet_http_client_logs()
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings, loops) as services:
            app_services.store(app, services)
            app.state.keys = services.keys  # lookout_common.infra.auth reads it here
            yield

    app = FastAPI(
        title="Lookout health-monitor",
        version=VERSION,
        description="Probes every dependency, keeps history, computes status and uptime, "
        "opens and resolves incidents.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    add_probe_routes(
        app,
        "health-monitor",
        lambda: {
            "postgres": lambda: database_reachable(app_services.of(app).pool),
            "kafka": lambda: broker_reachable(settings),
        },
        loops=loops,
    )
    app.include_router(status.router)
    app.include_router(checks.router)
    app.include_router(incidents.router)
    app.include_router(maintenance.router)
    app.include_router(config.router)
    app.include_router(ietf.router)
    app.include_router(sla_router)
    app.include_router(heartbeats.router)
    app.include_router(status_page_router)
    return app
