"""What every Lookout HTTP process shares: liveness, readiness, metrics, the runner, and
the typed hand-over of the `Services` its lifespan builds to its routes."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypedDict, TypeVar

import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lookout_common.infra.logging import configure_logging
from lookout_common.infra.metrics import instrument
from lookout_common.infra.settings import LookoutSettings
from lookout_common.infra.supervise import Supervisor

ReadinessCheck = Callable[[], Awaitable[bool]]
log = logging.getLogger(__name__)

S = TypeVar("S")
T = TypeVar("T")


def distribution_version(distribution: str) -> str:
    """The installed version of a service's distribution (its pyproject `name`, such as
    `lookout-ingest`): what its OpenAPI document and health report state."""
    return importlib.metadata.version(distribution)


class Liveness(BaseModel):
    status: str = Field("ok", description="ok, or failing when a background loop keeps failing")
    service: str
    failing_loops: list[str] = Field(
        default_factory=list, description="Background loops that keep failing (then 503)"
    )


class Readiness(BaseModel):
    ready: bool
    service: str
    dependencies: dict[str, bool]


class DocsUrls(TypedDict, total=False):
    """FastAPI's URL arguments that `api_docs` may set (an absent key: FastAPI's default)."""

    docs_url: str | None
    redoc_url: str | None
    openapi_url: str | None


def api_docs(settings: LookoutSettings) -> DocsUrls:
    """FastAPI's `docs_url`, `redoc_url` and `openapi_url`: FastAPI's defaults with
    `LOOKOUT_API_DOCS=true`, otherwise none of them is served (they list every route and
    the Swagger page loads its script from a CDN)."""
    if settings.api_docs:
        return {}
    return {"docs_url": None, "redoc_url": None, "openapi_url": None}


def add_probe_routes(
    app: FastAPI,
    service: str,
    readiness: Callable[[], Mapping[str, ReadinessCheck]],
    timeout: float = 3.0,
    *,
    loops: Supervisor | None = None,
) -> None:
    """`/healthz` (the process answers and none of its background `loops` keeps failing),
    `/readyz` (its dependencies answer) and `/metrics`."""
    instrument(app)

    @app.get(
        "/healthz",
        response_model=Liveness,
        responses={503: {"model": Liveness, "description": "A background loop keeps failing"}},
        tags=["probes"],
    )
    async def healthz() -> JSONResponse:
        failing = loops.failing() if loops is not None else []
        body = Liveness(
            status="failing" if failing else "ok", service=service, failing_loops=failing
        )
        return JSONResponse(body.model_dump(), status_code=503 if failing else 200)

    @app.get(
        "/readyz",
        response_model=Readiness,
        responses={503: {"model": Readiness}},
        tags=["probes"],
    )
    async def readyz() -> JSONResponse:
        checks = dict(readiness())

        async def run(check: ReadinessCheck) -> bool:
            try:
                return await asyncio.wait_for(check(), timeout)
            except Exception:  # noqa: BLE001 - a failing check means "not ready"
                return False

        results = await asyncio.gather(*(run(check) for check in checks.values()))
        dependencies = dict(zip(checks, results, strict=True))
        ready = all(results)
        body = Readiness(ready=ready, service=service, dependencies=dependencies)
        return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


def serve(
    app: FastAPI, settings: LookoutSettings, service: str, *, proxy_headers: bool = True
) -> None:
    """Run `app` under uvicorn with JSON logs; SIGTERM triggers the app's lifespan shutdown.

    `proxy_headers=False`: uvicorn never takes the client address from X-Forwarded-For
    (for a service that decides itself whether to believe it)."""
    configure_logging(service, settings.log_level)
    log.info(
        "starting",
        extra={
            "http": f"{settings.http_host}:{settings.http_port}",
            "kafka": settings.kafka_bootstrap,
        },
    )
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=30,
        lifespan="on",
        proxy_headers=proxy_headers,
    )


class AppServices(Generic[S]):
    """Where the `Services` a service's lifespan builds are kept (`app.state.services`),
    and the typed `Depends` getters that hand them, or one of their parts, to routes.
    One per service, in its bootstrap module::

        app_services = AppServices(Services)
        get_services = app_services.get
        ServicesDep = Annotated[Services, app_services.depends()]
        PoolDep = Annotated[asyncpg.Pool, app_services.depends(lambda s: s.pool)]

    and `app_services.store(app, services)` in the lifespan. The getters are coroutines:
    FastAPI runs a plain-function dependency in its thread pool, a hand-off per request.
    """

    def __init__(self, kind: type[S]) -> None:
        self.kind = kind

    def store(self, app: FastAPI, services: S) -> None:
        """Keeps `services` for `app`'s routes: the lifespan calls it before it yields."""
        app.state.services = services

    def of(self, app: FastAPI) -> S:
        """`app`'s services (for readiness checks and other code outside a request);
        RuntimeError naming the kind when the lifespan has not stored them."""
        services: S | None = getattr(app.state, "services", None)
        if services is None:
            raise RuntimeError(
                f"no {self.kind.__name__} on this app: its lifespan has not started"
                " (or it does not call AppServices.store)"
            )
        return services

    async def get(self, request: Request) -> S:
        """The `Depends` getter of the whole services (a service's `get_services`)."""
        return self.of(request.app)

    def getter(self, pick: Callable[[S], T]) -> Callable[[Request], Awaitable[T]]:
        """A `Depends` getter of the part `pick` takes from the services, typed by what
        `pick` returns. FastAPI sees one `Request` parameter: nothing in the API."""
        of = self.of

        async def get_part(request: Request) -> T:
            return pick(of(request.app))

        return get_part

    def depends(self, pick: Callable[[S], T] | None = None) -> Any:
        """`Depends` of `get` (no `pick`) or of `getter(pick)`, the metadata of an
        `Annotated[Part, ...]` alias that routes take as a parameter's type."""
        return Depends(self.get if pick is None else self.getter(pick))
