"""End-to-end fixtures: the pipeline's real processes on the suite's real broker and database,
and for the dashboard's browser tests the whole stack (`lookout up`) with demo traffic,
headless Chromium and the helpers that sign in and take screenshots."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page
from support.browser_stack import ARTIFACTS, Stack
from support.db import create_keys, fresh_database
from support.resolve import Resolved, scratch_dir
from support.services import ServiceProcess, settings_env
from support.wait import eventually

from lookout_common.infra.apikeys import Role
from lookout_common.infra.settings import LookoutSettings


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


def _launch(data_dir: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lookout_devstack.cli", "up", "--data-dir", str(data_dir / "data")],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


@pytest.fixture(scope="module")
async def stack(postgres: Resolved, kafka: Resolved) -> AsyncIterator[Stack]:
    """`lookout up` (no built-in demo) on the suite's servers, then a few seconds of the
    demo's marketplace traffic, drained into Postgres."""
    database_url = await fresh_database(postgres.url)
    data_dir = scratch_dir("lookout-test-browser-")
    env = {key: value for key, value in os.environ.items() if not key.startswith("LOOKOUT_")}
    env.update(
        LOOKOUT_DATABASE_URL=database_url,
        LOOKOUT_KAFKA_BOOTSTRAP=kafka.url,
        LOOKOUT_TOPIC_PREFIX=f"b{uuid.uuid4().hex[:8]}.",
        LOOKOUT_STREAM_TICK_S="2",
    )
    log = data_dir / "up.log"
    process = _launch(data_dir, env, log)
    try:

        def started() -> dict | None:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                return json.loads((data_dir / "data" / "stack.json").read_text())
            except (FileNotFoundError, json.JSONDecodeError):
                return None

        info = await eventually(lambda: asyncio.to_thread(started), 150, 0.5)
        running = Stack(info, process, log)
        [running.viewer_key] = await create_keys(database_url, (Role.VIEWER, "browser viewer"))
        await running.send_demo_traffic(5)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    ARTIFACTS.mkdir(exist_ok=True)
    await opened.screenshot(path=ARTIFACTS / f"{request.node.name}-last.png", full_page=True)
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
