"""The aggregator's `/lag` (partitions and backlog) answers only to an admin or viewer key
(`lookout up` sends its admin key while it drains): the route is checked in-process
against real keys in Postgres."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from support.db import create_keys

from lookout_aggregator.app import create_app
from lookout_common.infra.apikeys import KeyCache, Role
from lookout_common.infra.settings import AggregatorSettings

pytestmark = pytest.mark.integration


async def test_lag_needs_an_admin_or_viewer_key(database_url) -> None:
    (ingest,) = await create_keys(database_url, (Role.INGEST, "site"))
    app = create_app(AggregatorSettings(database_url=database_url))
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    app.state.keys = KeyCache(pool, ttl=5.0)  # what the lifespan sets
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://aggregator") as http:
            anonymous = await http.get("/lag")
            unknown = await http.get("/lag", headers={"Authorization": "Bearer lk_viewer_nope"})
            as_ingest = await http.get("/lag", headers={"Authorization": f"Bearer {ingest}"})
    finally:
        await pool.close()
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert unknown.status_code == 401
    assert as_ingest.status_code == 403
    for answer in (anonymous, unknown, as_ingest):
        assert "partitions" not in answer.text
