"""Wiring in one place: dashboard-api's dependencies, built once in the lifespan into a
typed `Services`, and the `Depends` getters the routes take them from."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

import asyncpg
import httpx
from faststream.kafka import KafkaBroker

from lookout_common.infra.apikeys import KeyCache
from lookout_common.infra.db import create_pool
from lookout_common.infra.kafka import make_broker, start_with_retry
from lookout_common.infra.service import AppServices
from lookout_common.infra.settings import DashboardSettings
from lookout_common.infra.supervise import Supervisor
from lookout_dashboard import stream
from lookout_dashboard.queries.overview import dashboard_metrics


@dataclass(frozen=True)
class Services:
    """Everything a route of dashboard-api needs, built once per process."""

    settings: DashboardSettings
    pool: asyncpg.Pool
    keys: KeyCache
    http: httpx.AsyncClient  # to the health monitor and the backup worker
    broker: KafkaBroker  # publishes the dashboard's signed backup commands
    relay: stream.Relay  # the live stream's fan-out


@asynccontextmanager
async def bootstrap(settings: DashboardSettings, loops: Supervisor) -> AsyncIterator[Services]:
    """Pool, key cache, HTTP client, broker, and the live stream's relay with its two
    supervised loops (Kafka and the metric ticks). On the way out the relay stops first,
    then the broker, the HTTP client, and the pool last."""
    pool = await create_pool(settings)
    keys = KeyCache(pool, ttl=5.0)
    http = httpx.AsyncClient()
    broker = make_broker(settings, client_id="lookout-dashboard")
    await start_with_retry(broker, settings)

    async def tick() -> str:
        found = await dashboard_metrics(pool, settings.zone, settings.active_window_s)
        return found.model_dump_json(by_alias=True)

    relay = stream.Relay(
        settings,
        tick,
        tick_s=settings.stream_tick_s,
        max_per_key=settings.stream_max_per_key,
        supervisor=loops,
    )
    await relay.start()
    try:
        yield Services(
            settings=settings, pool=pool, keys=keys, http=http, broker=broker, relay=relay
        )
    finally:
        await relay.stop()
        await broker.stop()
        await http.aclose()
        await pool.close()


# Where the lifespan keeps the services, and the typed getters routes take them from.
app_services = AppServices(Services)
get_services = app_services.get
ServicesDep = Annotated[Services, app_services.depends()]
PoolDep = Annotated[asyncpg.Pool, app_services.depends(lambda services: services.pool)]
SettingsDep = Annotated[DashboardSettings, app_services.depends(lambda services: services.settings)]
