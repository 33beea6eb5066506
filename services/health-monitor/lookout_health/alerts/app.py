"""The alert-consumer process: incident and backup events in, alerts to every receiver.

The Kafka handler only records the alert in the Postgres outbox (one row per
receiver) and returns; the offset is committed after that. Delivery happens in one
supervised loop per receiver, with retries, so a restart loses nothing and a dead
receiver blocks nobody. What the process builds is wired in `alerts.bootstrap`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lookout_common.infra.db import database_reachable
from lookout_common.infra.kafka import broker_reachable
from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import AlertSettings
from lookout_common.infra.supervise import Supervisor
from lookout_health.alerts.bootstrap import Routing, app_services, bootstrap
from lookout_health.http_logging import quiet_http_client_logs


def create_app(settings: AlertSettings | None = None) -> FastAPI:
    settings = settings or AlertSettings()
    quiet_http_client_logs()
    routing = Routing.from_settings(settings)  # a bad receiver list stops the start here
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings, routing, loops) as services:
            app_services.store(app, services)
            yield

    app = FastAPI(
        title="Lookout alert consumer",
        version=distribution_version("lookout-health-monitor"),
        description="Delivers incident and backup-failure alerts to webhooks, Slack and "
        "Alertmanager.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    add_probe_routes(
        app,
        "alert-consumer",
        lambda: {
            "postgres": lambda: database_reachable(app_services.of(app).pool),
            "kafka": lambda: broker_reachable(settings),
        },
        loops=loops,
    )
    return app
