"""What the end-to-end and browser tests share: a booking as the shop reports it, the running
`lookout up` stack, and the helpers that sign in and take screenshots."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from lookout_devstack.demo import drive
from support.wait import eventually

# A booking as the shop's front end reports it.
BOOKING = {
    "therapistId": "therapist-7",
    "serviceType": "thai",
    "duration": 60,
    "totalPrice": 70,
    "currency": "EUR",
}

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
                answer = await http.get(
                    lag_url, headers={"Authorization": f"Bearer {self.admin_key}"}
                )
                return answer.json().get("lag") == 0

            await eventually(drained, 60, 0.5)


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
