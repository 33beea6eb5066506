"""Ingest: Segment's HTTP Tracking API in front of `analytics.events.v1`.

A 200 means Kafka acknowledged every accepted event (acks=all). A dead broker
gives 503 with Retry-After and nothing is reported as stored that was not.
The process: its services built in the lifespan (`bootstrap`), the tracking routes
(`routes`), and `/healthz`, `/readyz`, `/metrics`.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import IngestSettings
from lookout_ingest import routes
from lookout_ingest.bootstrap import Services, app_services, bootstrap

Wiring = Callable[[IngestSettings], AbstractAsyncContextManager[Services]]

# A request of 100 events allocates thousands of short-lived dicts and lists, and up to 32
# requests are in flight: at Python's default (700 allocations) the cyclic collector ran
# about 23 times per 1,000 events and took 10-20% of acceptance's CPU (bench/ingest.py;
# see the README's Speed section). Ingest's objects are freed by their reference counts
# (a rejected event's exception is kept without its traceback), so it collects cycles
# rarely: a first pass every 20,000 net allocations, the full one far less often.
COLLECTOR_THRESHOLDS = (20_000, 50, 100)


@contextmanager
def rare_collections() -> Iterator[None]:
    """While serving: what start-up built (modules, the app, the parsers' rules) is left
    out of the cyclic collector's passes, which run at `COLLECTOR_THRESHOLDS`."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def create_app(settings: IngestSettings | None = None, wiring: Wiring = bootstrap) -> FastAPI:
    """The ingest app; `wiring` builds its services (tests pass fakes of Kafka and keys)."""
    settings = settings or IngestSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with wiring(settings) as services:
            app_services.store(app, services)
            with rare_collections():
                yield

    app = FastAPI(
        title="Lookout ingest",
        version=distribution_version("lookout-ingest"),
        description="Segment-compatible tracking API. A 200 means every accepted event "
        "is durably in Kafka.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    # Browser trackers post from the product's own origins. Write keys are public by
    # nature (they ship in the page), and no cookies are read, so any origin may call.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "Content-Encoding", "X-Request-Id"],
        allow_credentials=False,
        max_age=86400,
    )
    add_probe_routes(app, "ingest", lambda: app_services.of(app).readiness)
    app.include_router(routes.router)
    return app
