"""dashboard-api: what the admin dashboard reads, behind API keys. Its services are built
in the lifespan (`bootstrap`); this module adds the middleware, the routers of `routes/`,
`/healthz`, `/readyz`, `/metrics` and the page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from lookout_common.infra.db import database_reachable
from lookout_common.infra.kafka import broker_reachable
from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import DashboardSettings
from lookout_common.infra.supervise import Supervisor
from lookout_dashboard import spa
from lookout_dashboard.bootstrap import app_services, bootstrap
from lookout_dashboard.routes import (
    activity,
    analytics,
    backups,
    commerce,
    core,
    dead_letters,
    erasure,
    health,
    people,
    quality,
)
from lookout_dashboard.routes.allow import AllowHeader

BAD_JSON = {"description": "The request body is not valid JSON"}


def _document_body_errors(router: APIRouter) -> None:
    """Every operation that reads a JSON body may answer 400 for one that does not parse."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.body_field is not None:
            route.responses.setdefault(400, BAD_JSON)


def create_app(settings: DashboardSettings | None = None) -> FastAPI:
    settings = settings or DashboardSettings()
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings, loops) as services:
            app_services.store(app, services)
            app.state.keys = services.keys  # lookout_common.infra.auth reads it here
            yield

    app = FastAPI(
        title="Lookout dashboard-api",
        version=distribution_version("lookout-dashboard-api"),
        description="Analytics, health and backups for admins and viewers. "
        "Authenticate with `Authorization: Bearer <API key>`.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    app.add_middleware(AllowHeader)
    if settings.cors_origins:
        # Keys travel in a header, never in cookies: no credentials, so no CSRF surface.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
            allow_credentials=False,
        )
    add_probe_routes(
        app,
        "dashboard-api",
        lambda: {
            "postgres": lambda: database_reachable(app_services.of(app).pool),
            "kafka": lambda: broker_reachable(settings),
        },
        loops=loops,
    )
    for module in (
        analytics,
        activity,
        commerce,
        quality,
        dead_letters,
        health,
        backups,
        people,
        erasure,
    ):
        _document_body_errors(module.router)
        app.include_router(module.router)
    spa.mount(app)
    app.include_router(core.router)
    return app
