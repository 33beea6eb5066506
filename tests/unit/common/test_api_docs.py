"""Every service serves /docs, /redoc and /openapi.json only with LOOKOUT_API_DOCS=true:
they list every route, and the Swagger page loads its script from a CDN."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version

import httpx
import pytest
from fastapi import FastAPI

from lookout_aggregator.app import create_app as aggregator_app
from lookout_backup.app import create_app as backup_app
from lookout_common.infra.settings import (
    AggregatorSettings,
    AlertSettings,
    BackupWorkerSettings,
    DashboardSettings,
    HealthMonitorSettings,
    IngestSettings,
)
from lookout_dashboard.app import create_app as dashboard_app
from lookout_health.alerts.app import create_app as alerts_app
from lookout_health.app import create_app as health_app
from lookout_ingest.app import create_app as ingest_app

SERVICES: dict[str, tuple[Callable[..., FastAPI], type]] = {
    "ingest": (ingest_app, IngestSettings),
    "analytics-aggregator": (aggregator_app, AggregatorSettings),
    "health-monitor": (health_app, HealthMonitorSettings),
    "alert consumer": (alerts_app, AlertSettings),
    "backup-worker": (backup_app, BackupWorkerSettings),
    "dashboard-api": (dashboard_app, DashboardSettings),
}
DISTRIBUTIONS = {
    "ingest": "lookout-ingest",
    "analytics-aggregator": "lookout-analytics-aggregator",
    "health-monitor": "lookout-health-monitor",
    "alert consumer": "lookout-health-monitor",
    "backup-worker": "lookout-backup-worker",
    "dashboard-api": "lookout-dashboard-api",
}
DOCS = ["/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"]


async def _statuses(app: FastAPI, paths: list[str]) -> dict[str, int]:
    # No lifespan: these routes need neither the database nor the broker.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return {path: (await client.get(path)).status_code for path in paths}


@pytest.mark.parametrize("service", SERVICES)
async def test_docs_and_schema_are_not_served_by_default(service: str) -> None:
    create_app, settings = SERVICES[service]
    assert await _statuses(create_app(settings()), DOCS) == dict.fromkeys(DOCS, 404)


@pytest.mark.parametrize("service", SERVICES)
async def test_docs_and_schema_are_served_with_lookout_api_docs(service: str) -> None:
    create_app, settings = SERVICES[service]
    assert await _statuses(create_app(settings(api_docs=True)), DOCS) == dict.fromkeys(DOCS, 200)


@pytest.mark.parametrize("service", SERVICES)
async def test_the_schema_states_the_installed_distribution_version(service: str) -> None:
    create_app, settings = SERVICES[service]
    transport = httpx.ASGITransport(app=create_app(settings(api_docs=True)))
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        schema = (await client.get("/openapi.json")).json()
    assert schema["info"]["version"] == version(DISTRIBUTIONS[service])


async def test_the_dashboard_page_is_served_without_the_docs() -> None:
    app = dashboard_app(DashboardSettings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        page = await client.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
