"""The public status page in headless Chromium, at desktop and phone width, on a real
health monitor: each component with its state and 90 daily bars (the day's uptime on
hover), the active incident with its timeline, scheduled maintenance; no horizontal
scrolling on a phone and no script at all. Screenshots land in tests/artifacts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser
from support.browser_stack import ARTIFACTS

from lookout_devstack.embedded.process import free_port

pytestmark = [pytest.mark.integration, pytest.mark.browser]


async def test_the_status_page_reads_at_desktop_and_phone_width(
    monitor, http_server, browser: Browser
) -> None:
    port = http_server.url.rsplit(":", 1)[1]
    monitor.env |= {"LOOKOUT_STATUS_CACHE_S": "0", "LOOKOUT_STATUS_TITLE": "Marketplace status"}
    monitor.config_path.write_text(
        "checks:\n"
        f"  - {{name: api-a, kind: http, url: 'http://127.0.0.1:{port}/health',"
        " component: Public API, interval_s: 0.3, timeout_s: 2}\n"
        f"  - {{name: ledger-socket, kind: tcp, host: 127.0.0.1, port: {free_port()},"
        " component: Ledger, interval_s: 0.3, timeout_s: 1, failures_before_incident: 1}\n"
    )
    monitor.start()
    now = datetime.now(UTC)
    window = {
        "startsAt": (now + timedelta(days=1)).isoformat(),
        "endsAt": (now + timedelta(days=1, hours=2)).isoformat(),
        "reason": "Ledger database upgrade",
    }
    assert (await monitor.post("/api/v1/health/maintenance", window)).status_code == 201

    async def ledger_down() -> bool:
        # The component states come from the latest results; today's bars from the uptime
        # rollups, written a second or so later.
        page = (await monitor.get("/status.json")).json()
        components = {c["name"]: c for c in page["components"]}
        states = {name: c["state"] for name, c in components.items()}
        return (
            states == {"Ledger": "outage", "Public API": "operational"}
            and components["Ledger"]["days"][-1]["state"] == "outage"
            and bool(page["activeIncidents"])
        )

    await monitor.wait_for(ledger_down)
    ARTIFACTS.mkdir(exist_ok=True)
    for name, viewport in (
        ("desktop", {"width": 1280, "height": 900}),
        ("phone", {"width": 390, "height": 844}),
    ):
        context = await browser.new_context(viewport=viewport, java_script_enabled=False)
        page = await context.new_page()
        try:
            answer = await page.goto(f"{monitor.service.url}/status")
            assert answer is not None
            assert answer.status == 200
            assert await page.title() == "Marketplace status"
            assert await page.locator("h1").inner_text() == "Marketplace status"
            assert "down" in (await page.locator(".overall").inner_text()).lower()
            components = page.locator("section.component")
            assert await components.count() == 2
            ledger = page.locator('section.component[data-component="Ledger"]')
            assert await ledger.locator("li.day").count() == 90
            today = ledger.locator("li.day").last
            assert "outage" in (await today.get_attribute("class") or "")
            assert "uptime" in (await today.get_attribute("title") or "").lower()
            incident = page.locator("#active article.incident")
            assert await incident.count() == 1
            assert "Ledger" in await incident.locator("h3").inner_text()
            assert await incident.locator("ol.timeline li").count() >= 1
            planned = await page.locator("#maintenance").inner_text()
            assert "Ledger database upgrade" in planned
            overflow = await page.evaluate(
                "document.scrollingElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{name}: the page scrolls sideways by {overflow} px"
            await page.screenshot(path=ARTIFACTS / f"status-page-{name}.png", full_page=True)
        finally:
            await context.close()
