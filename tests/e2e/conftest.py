"""End-to-end fixtures: the pipeline's real processes on the suite's real broker and database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from support.db import create_keys
from support.services import ServiceProcess, settings_env

from lookout_common.apikeys import Role
from lookout_common.settings import LookoutSettings


@dataclass
class Pipeline:
    ingest: ServiceProcess
    aggregator: ServiceProcess
    dashboard: ServiceProcess
    write_key: str
    admin_key: str
    settings: LookoutSettings


@pytest.fixture
async def pipeline(settings: LookoutSettings, service_factory) -> Pipeline:
    """Starts real ingest, analytics-aggregator and dashboard-api processes for this test."""
    write_key, admin_key = await create_keys(
        settings.dsn(), (Role.INGEST, "e2e front end"), (Role.ADMIN, "e2e admin")
    )
    env = settings_env(settings)
    aggregator = service_factory("lookout_aggregator", env)
    dashboard = service_factory("lookout_dashboard", env)
    ingest = service_factory("lookout_ingest", env)
    return Pipeline(ingest, aggregator, dashboard, write_key, admin_key, settings)
