"""The analytics-aggregator process: the batch consumer, its HTTP probes and `/lag`. Its
services are built in the lifespan (`bootstrap`); this module adds the router and
`/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lookout_aggregator import routes
from lookout_aggregator.bootstrap import app_services, bootstrap
from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import AggregatorSettings
from lookout_common.infra.supervise import Supervisor


def create_app(settings: AggregatorSettings | None = None) -> FastAPI:
    settings = settings or AggregatorSettings()
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings, loops) as services:
            app_services.store(app, services)
            app.state.keys = services.keys  # lookout_common.infra.auth reads it here
            yield

    app = FastAPI(
        title="Lookout analytics-aggregator",
        version=distribution_version("lookout-analytics-aggregator"),
        description="Consumes analytics.events.v1 into user_analytics and the rollups.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    add_probe_routes(
        app, "analytics-aggregator", lambda: app_services.of(app).readiness, loops=loops
    )
    app.include_router(routes.router)
    return app
