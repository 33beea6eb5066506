"""The aggregator's `/lag` (partitions and backlog) answers only to an admin or viewer key."""

from __future__ import annotations

import httpx
import pytest
from support.db import create_keys
from support.services import settings_env

from lookout_common.apikeys import Role

pytestmark = pytest.mark.integration


async def test_lag_needs_an_admin_or_viewer_key(settings, service_factory) -> None:
    viewer, ingest = await create_keys(
        settings.dsn(), (Role.VIEWER, "support"), (Role.INGEST, "site")
    )
    aggregator = service_factory("lookout_aggregator", settings_env(settings))
    async with httpx.AsyncClient(base_url=aggregator.url, timeout=10) as http:
        anonymous = await http.get("/lag")
        as_ingest = await http.get("/lag", headers={"Authorization": f"Bearer {ingest}"})
        as_viewer = await http.get("/lag", headers={"Authorization": f"Bearer {viewer}"})
    assert anonymous.status_code == 401
    assert "partitions" not in anonymous.text
    assert as_ingest.status_code == 403
    assert as_viewer.status_code == 200
    assert set(as_viewer.json()) == {"lag", "partitions"}
