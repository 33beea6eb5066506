"""Wiring in one place: ingest's dependencies, built once in the lifespan into a typed
`Services`, and the `Depends` getter the routes take them from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from lookout_common.infra.apikeys import KeyCache
from lookout_common.infra.db import create_pool, database_reachable
from lookout_common.infra.kafka import broker_reachable, start_producer
from lookout_common.infra.service import AppServices, ReadinessCheck
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.acceptance import Ingest
from lookout_ingest.publisher import EventPublisher


@dataclass(frozen=True)
class Services:
    """Everything ingest's routes need, built once per process."""

    settings: IngestSettings
    ingest: Ingest
    readiness: Mapping[str, ReadinessCheck]


@asynccontextmanager
async def bootstrap(settings: IngestSettings) -> AsyncIterator[Services]:
    """The key cache on Postgres and the publisher on Kafka. On the way out the producer
    flushes whatever is still batched (requests still waiting get their acks), and only
    then the pool and the GeoIP database close."""
    pool = await create_pool(settings)
    producer = await start_producer(settings, client_id="lookout-ingest")
    ingest = Ingest(
        settings, KeyCache(pool, settings.write_key_cache_s), EventPublisher(producer, settings)
    )
    try:
        yield Services(
            settings=settings,
            ingest=ingest,
            readiness={
                "postgres": lambda: database_reachable(pool),
                "kafka": lambda: broker_reachable(settings),
            },
        )
    finally:
        await producer.stop()
        await pool.close()
        ingest.close()


# Where the lifespan keeps the services, and the typed getters routes take them from.
app_services = AppServices(Services)
get_services = app_services.get
IngestDep = Annotated[Ingest, app_services.depends(lambda services: services.ingest)]
