"""End-to-end fixtures: the pipeline's real processes on the suite's real broker and database,
and for the dashboard's browser tests the whole stack (`lookout up`) with demo traffic,
headless Chromium and the helpers that sign in and take screenshots."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect
from support.db import create_keys, fresh_database
from support.resolve import Resolved, scratch_dir
from support.services import ServiceProcess, settings_env
from support.wait import eventually

from lookout_common.apikeys import Role
from lookout_common.demo import drive
from lookout_common.settings import LookoutSettings

# A booking as the shop's front end reports it.
BOOKING = {
    "therapistId": "therapist-7",
    "serviceType": "thai",
    "duration": 60,
    "totalPrice": 70,
    "currency": "EUR",
}


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


ARTIFACTS = Path(__file__).parent.parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class Stack:
    def __init__(self, info: dict, process: subprocess.Popen, log: Path) -> None:
        self.info = info
        self.process = process
        self.log = log
        self.url = info["dashboard_url"]
        self.admin_key = info["admin_key"]
        self.viewer_key = ""

    def api(self, path: str, key: str | None = None, **params) -> object:
        answer = httpx.get(
            f"{self.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {key or self.admin_key}"},
            timeout=30,
        )
        answer.raise_for_status()
        return answer.json()

    async def send_demo_traffic(self, seconds: float) -> None:
        """Sends the demo's marketplace traffic to ingest for `seconds`, and returns once the
        aggregator has stored all of it (its lag is 0)."""
        stop = threading.Event()
        traffic = asyncio.create_task(
            drive(self.info["ingest_url"], self.info["write_key"], stop, 6.0)
        )
        await asyncio.sleep(seconds)
        stop.set()
        await traffic
        lag_url = f"{self.info['services']['analytics-aggregator']}/lag"
        async with httpx.AsyncClient(timeout=5) as http:

            async def drained() -> bool:
                return (await http.get(lag_url)).json().get("lag") == 0

            await eventually(drained, 60, 0.5)


def _launch(data_dir: Path, env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "lookout_common.cli", "up", "--data-dir", str(data_dir / "data")],
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


async def sign_in(page: Page, stack: Stack, key: str) -> None:
    await page.goto(stack.url)
    await page.fill("#login-key", key)
    await page.click("#login-submit")
    await expect(page.locator("#app")).to_be_visible()


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"dashboard-{name}.png", full_page=True)


def _int(text: str) -> int:
    return int(text.replace(",", "").replace("\u202f", "").strip())
