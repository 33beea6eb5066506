"""`api_keys.last_used_at` is written when a key is used, at most once a minute per key
and process (a hot ingest path does not write a row per request)."""

from __future__ import annotations

import asyncpg
import pytest
from support.db import create_keys

from lookout_common.infra.apikeys import KeyCache, Role

pytestmark = pytest.mark.integration


async def test_last_used_at_is_written_on_use_and_at_most_once_a_minute(database_url) -> None:
    used, idle = await create_keys(database_url, (Role.INGEST, "site"), (Role.VIEWER, "idle"))
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:

        async def last_used(key: str):
            return await pool.fetchval(
                "SELECT last_used_at FROM api_keys WHERE prefix = $1", key[:12]
            )

        keys = KeyCache(pool, ttl=0)  # no lookup cache: each lookup reads Postgres
        assert (await keys.lookup(used)).name == "site"
        first = await last_used(used)
        assert first is not None
        for _ in range(20):
            assert await keys.lookup(used) is not None
        assert await last_used(used) == first
        assert await last_used(idle) is None
        assert await keys.lookup("lk_ingest_unknown") is None

        eager = KeyCache(pool, ttl=0, use_every_s=0.0)  # a window of 0: every use is written
        await eager.lookup(used)
        assert await last_used(used) > first
    finally:
        await pool.close()
