"""Wiring in one place: ingest's dependencies, built once in the lifespan into a typed
`Services`, and the `Depends` getter the routes take them from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from lookout_common.infra.apikeys import KeyCache
from lookout_common.infra.db import create_pool, database_reachable
from lookout_common.infra.kafka import broker_reachable, start_producer
from lookout_common.infra.service import AppServices, ReadinessCheck
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.acceptance import Ingest
from lookout_ingest.publisher import EventPublisher
from lookout_ingest.shared_limits import BucketTable


@dataclass(frozen=True)
class Services:
    """Everything ingest's routes need, built once per process."""

    settings: IngestSettings
    ingest: Ingest
    readiness: Mapping[str, ReadinessCheck]


@asynccontextmanager
async def bootstrap(
    settings: IngestSettings, shared_limits: Path | None = None
) -> AsyncIterator[Services]:
    """The key cache on Postgres, the publisher on Kafka, and the rate limits on the
    workers' `shared_limits` table when there is one (`server.py`). On the way out the
    producer flushes whatever is still batched (requests still waiting get their acks),
    and only then the pool, the table and the GeoIP database close."""
    table = BucketTable.open(shared_limits) if shared_limits is not None else None
    pool = await create_pool(settings)
    producer = await start_producer(settings, client_id="lookout-ingest")
    ingest = Ingest(
        settings,
        KeyCache(pool, settings.write_key_cache_s),
        EventPublisher(producer, settings),
        table,
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
        if table is not None:
            table.close()
        ingest.close()


# Where the lifespan keeps the services, and the typed getters routes take them from.
app_services = AppServices(Services)
get_services = app_services.get
IngestDep = Annotated[Ingest, app_services.depends(lambda services: services.ingest)]
