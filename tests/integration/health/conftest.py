"""A real health-monitor process with a YAML config, and real servers for it to probe."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from support.db import create_keys
from support.services import ServiceProcess, settings_env

from lookout_common.infra.apikeys import Role
from lookout_common.infra.db import connect, create_pool
from lookout_common.infra.settings import LookoutSettings


class ToggleHttpServer:
    """A real HTTP server on loopback answering `{"status": "ok"}` or 500 on demand."""

    def __init__(self) -> None:
        self.healthy = True
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            body = b'{"status": "ok"}' if self.healthy else b'{"status": "down"}'
            status = b"200 OK" if self.healthy else b"500 Internal Server Error"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> ToggleHttpServer:
        self.server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()
        await self.server.wait_closed()


@dataclass
class MonitorUnderTest:
    settings: LookoutSettings
    config_path: Path
    admin_key: str
    viewer_key: str
    factory: object
    service: ServiceProcess | None = None
    env: dict[str, str] = field(default_factory=dict)

    def start(self) -> MonitorUnderTest:
        self.service = self.factory("lookout_health", self.env)
        return self

    def restart(self) -> MonitorUnderTest:
        self.service.stop()
        return self.start()

    async def get(self, path: str, key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.get(f"{self.service.url}{path}", headers=headers)

    async def post(self, path: str, body=None, key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"}
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(f"{self.service.url}{path}", json=body, headers=headers)

    async def wait_for(self, predicate, timeout: float = 20.0, every: float = 0.2):
        """Poll `predicate` (async, returning a truthy value) until it holds."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await predicate()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"condition not met in {timeout}s; last value {value!r}")
            await asyncio.sleep(every)

    async def rows(self, query: str, *args):
        connection = await asyncpg.connect(self.settings.dsn())
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()


@pytest.fixture
async def monitor(settings: LookoutSettings, service_factory, tmp_path: Path) -> AsyncIterator:
    admin, viewer = await create_keys(settings.dsn(), (Role.ADMIN, "sre"), (Role.VIEWER, "support"))
    path = tmp_path / "checks.yaml"
    env = settings_env(
        settings, LOOKOUT_HEALTH_CONFIG=str(path), LOOKOUT_HEALTH_CONFIG_POLL_S="0.2"
    )
    return MonitorUnderTest(settings, path, admin, viewer, service_factory, env=env)


@pytest.fixture
async def http_server() -> AsyncIterator[ToggleHttpServer]:
    async with ToggleHttpServer() as server:
        yield server


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh migrated database of the session's embedded Postgres."""
    pool = await create_pool(LookoutSettings(database_url=database_url))
    yield pool
    await pool.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a fresh migrated database with the service's JSON codecs (the
    suite's `db` has none)."""
    connection = await connect(LookoutSettings(database_url=database_url))
    yield connection
    await connection.close()
