"""A real dashboard-api: a key may hold only LOOKOUT_STREAM_MAX_PER_KEY live streams, and
every one of them ends soon after the key is revoked."""

from __future__ import annotations

import asyncio
import contextlib
import time

import asyncpg
import httpx
import pytest
from support.db import create_keys
from support.services import settings_env

from lookout_common.infra.apikeys import Role

pytestmark = pytest.mark.integration


async def _kinds(response: httpx.Response) -> list[str]:
    return [line[7:] async for line in response.aiter_lines() if line.startswith("event: ")]


async def _revoke(dsn: str, key: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE prefix = $1", key[:12]
        )
    finally:
        await connection.close()


async def test_a_key_holds_two_streams_at_most_and_loses_them_when_revoked(
    settings, service_factory
) -> None:
    env = settings_env(settings, LOOKOUT_STREAM_KEY_CHECK_S="0.5", LOOKOUT_STREAM_MAX_PER_KEY="2")
    dashboard = service_factory("lookout_dashboard", env)
    viewer, other = await create_keys(
        settings.dsn(), (Role.VIEWER, "support"), (Role.VIEWER, "another team")
    )
    headers = {"Authorization": f"Bearer {viewer}"}
    async with contextlib.AsyncExitStack() as streams:
        http = await streams.enter_async_context(
            httpx.AsyncClient(base_url=dashboard.url, timeout=30)
        )
        readers = []
        for _ in range(2):
            opened = await streams.enter_async_context(
                http.stream("GET", "/api/v1/stream", headers=headers)
            )
            assert opened.status_code == 200
            readers.append(asyncio.create_task(_kinds(opened)))
        refused = await http.get("/api/v1/stream", headers=headers)
        assert refused.status_code == 429
        assert "already holds 2 live streams" in refused.json()["detail"]
        assert refused.headers["retry-after"] == "5"
        async with http.stream(
            "GET", "/api/v1/stream", headers={"Authorization": f"Bearer {other}"}
        ) as another_key:
            assert another_key.status_code == 200  # each key has its own allowance

        revoked_at = time.monotonic()
        await _revoke(settings.dsn(), viewer)
        ended = await asyncio.wait_for(asyncio.gather(*readers), 15)
        took = time.monotonic() - revoked_at
    assert [kinds[0] for kinds in ended] == ["hello", "hello"]
    assert [kinds[-1] for kinds in ended] == ["revoked", "revoked"]
    assert took < 5  # the stream asks Postgres every 0.5 s, past any key cache
    # Reconnecting does not help: revoked at the first key check while the key cache
    # (5 s) still knows the key, refused after.
    async with (
        httpx.AsyncClient(base_url=dashboard.url, timeout=30) as http,
        http.stream("GET", "/api/v1/stream", headers=headers) as again,
    ):
        if again.status_code == 200:
            assert (await asyncio.wait_for(_kinds(again), 5))[-1] == "revoked"
        else:
            assert again.status_code == 401
