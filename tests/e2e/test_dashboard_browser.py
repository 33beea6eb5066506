"""The dashboard in headless Chromium (Debian's `chromium`, driven by Playwright) against
the real stack (`lookout up` on the suite's Postgres and Kafka) with marketplace traffic:
an admin sees each tab's numbers match the API, runs a health check and a backup and sees
the results arrive live, a viewer is refused actions, a lost API shows a banner, a part that
fails says so in its own place, and <lookout-dashboard> shows the tabs inside an admin page
on an allowed origin and nothing but its error on any other.

Every test saves screenshots under tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, Route, expect
from support.browser_stack import Stack, shot, sign_in
from support.services import ServiceProcess

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

NO_VALUE = "\u2013"  # what the page shows where there is no number (an en dash)


async def test_admin_sees_each_tab_show_the_apis_numbers(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, stack.admin_key)
    await expect(page.locator("#whoami")).to_contain_text("admin")

    # Overview: the cards are the metrics endpoint's numbers (traffic has stopped).
    metrics = stack.api("/api/v1/dashboard/metrics")
    assert metrics["todayBookings"] > 0
    assert metrics["activeUsers"] > 0
    await expect(page.locator("#ov-active")).to_have_text(f"{metrics['activeUsers']:,}")
    await expect(page.locator("#ov-bookings")).to_have_text(f"{metrics['todayBookings']:,}")
    await expect(page.locator("#ov-chats")).to_have_text(f"{metrics['chatSessions']:,}")
    await expect(page.locator("#ov-errors")).to_have_text(f"{metrics['errorRate']:.2f} %")
    pages_shown = await page.locator("#ov-pages tbody tr td:first-child").all_inner_texts()
    assert pages_shown == [row["page"] for row in metrics["topPages"]]
    status = stack.api("/api/v1/health/status")
    await expect(page.locator("#ov-status")).to_have_text(status["status"])
    await shot(page, "overview")

    # Analytics: bookings and conversion over the last hour, and the top pages.
    await page.click("#tab-analytics")
    now = datetime.now(UTC)
    bookings = stack.api(
        "/api/v1/analytics/bookings",
        **{"from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat()},
        granularity="minute",
    )
    assert bookings["attempts"] > 0
    await expect(page.locator("#an-attempts")).to_have_text(f"{bookings['attempts']:,}")
    await expect(page.locator("#an-completions")).to_have_text(f"{bookings['completions']:,}")
    await expect(page.locator("#an-conversion")).to_have_text(f"{bookings['conversionRate']:.2f} %")
    await expect(page.locator("#chart-events .main-svg").first).to_be_visible()
    traces = await page.evaluate(
        "() => document.getElementById('chart-events').data.map((t) => t.name)"
    )
    assert "booking_completed" in traces
    assert "page_view" in traces
    await shot(page, "analytics")

    # Health: one row per check, each with the API's latest status.
    await page.click("#tab-health")
    checks = stack.api("/api/v1/health/checks")
    rows = page.locator("#hl-checks tbody tr[data-check]")
    await expect(rows).to_have_count(len(checks))
    for check in checks:
        row = page.locator(f'#hl-checks tr[data-check="{check["name"]}"]')
        expected = check["latest"]["status"] if check["latest"] else "not run yet"
        await expect(row.locator("td").nth(2)).to_have_text(expected)
    await expect(page.locator("#chart-uptime .main-svg").first).to_be_visible()
    await shot(page, "health")

    # Backups: the history is the worker's run list.
    await page.click("#tab-backups")
    runs = stack.api("/api/v1/backups/runs")
    expected_rows = len(runs) or 1  # one "No backup has run yet." row when empty
    await expect(page.locator("#bk-runs tbody tr")).to_have_count(expected_rows)
    await shot(page, "backups")


async def test_run_health_check_and_backup_results_arrive_live(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, stack.admin_key)
    await expect(page.locator("#live")).to_have_text("live", timeout=15_000)
    # A marker on the window: it survives only if the page never reloads.
    await page.evaluate("() => { window.__noReload = true; }")

    await page.click("#tab-health")
    checks = stack.api("/api/v1/health/checks")
    await page.click("#hl-run")
    await expect(page.locator("#hl-run-status")).to_contain_text(
        f"{len(checks)} checks ran", timeout=60_000
    )
    await shot(page, "health-run")

    await page.click("#tab-backups")
    before = {run["run_id"] for run in stack.api("/api/v1/backups/runs")}
    await page.click("#bk-run")
    await expect(page.locator("#bk-run-status")).to_contain_text("backup requested")
    # Progress comes over the stream: the run's own card reaches "succeeded".
    await expect(page.locator("#bk-progress .badge", has_text="succeeded")).to_be_visible(
        timeout=90_000
    )
    runs = stack.api("/api/v1/backups/runs")
    new = [run for run in runs if run["run_id"] not in before and run["operation"] == "backup"]
    assert [run["status"] for run in new] == ["succeeded"], runs
    row = page.locator(f'#bk-runs tr[data-run="{new[0]["run_id"]}"]')
    await expect(row.locator("td").nth(2)).to_have_text("succeeded", timeout=15_000)
    await shot(page, "backups-run")

    # Restore one collection of that backup: pick it, cancel once, then confirm.
    await page.select_option("#bk-restore-run", new[0]["run_id"])
    boxes = page.locator("#bk-collections input[type=checkbox]")
    await expect(boxes.first).to_be_visible()
    offered = set(await boxes.evaluate_all("(nodes) => nodes.map((n) => n.value)"))
    manifest = stack.api(f"/api/v1/backups/runs/{new[0]['run_id']}")
    assert offered == {artifact["collection"] for artifact in manifest["artifacts"]}
    assert "rollup_page_views" in offered
    await page.check('#bk-collections input[value="rollup_page_views"]')
    await page.click("#bk-restore-submit")
    await expect(page.locator("#bk-confirm")).to_be_visible()
    await expect(page.locator("#bk-confirm-text")).to_contain_text("rollup_page_views")
    await page.click("#bk-confirm-cancel")
    await expect(page.locator("#bk-run-status")).not_to_contain_text("restore requested")
    await page.click("#bk-restore-submit")
    await page.click("#bk-confirm-ok")
    await expect(page.locator("#bk-run-status")).to_contain_text("restore requested")
    card = page.locator("#bk-progress .progress", has_text="restore")
    await expect(card.locator(".badge")).to_have_text("succeeded", timeout=90_000)
    restores = [
        run
        for run in stack.api("/api/v1/backups/runs")
        if run["operation"] == "restore" and run["target_run_id"] == new[0]["run_id"]
    ]
    assert [(run["status"], run["collections"]) for run in restores] == [
        ("succeeded", ["rollup_page_views"])
    ]
    assert restores[0]["rows"] > 0  # the run records the rows it loaded
    assert await page.evaluate("() => window.__noReload === true")
    await shot(page, "backups-restore")

    # The audit log has both actions, by this key.
    audit = stack.api("/api/v1/audit")
    actions = {entry["action"] for entry in audit if entry["actor"].startswith("lookout up")}
    assert {"health.run_checks", "backup.backup", "backup.restore"} <= actions


async def test_live_metrics_tick_updates_the_overview(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, stack.admin_key)
    stamp = page.locator("#updated")
    await expect(stamp).not_to_have_text("never")
    first = await stamp.get_attribute("datetime")
    # The stream's metrics tick (every 2 s here) refreshes "last updated" without a request.
    await expect(stamp).not_to_have_attribute("datetime", first or "", timeout=10_000)


async def test_a_viewer_reads_but_cannot_act(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, stack.viewer_key)
    await expect(page.locator("#whoami")).to_contain_text("viewer")
    await page.click("#tab-health")
    await expect(page.locator("#hl-checks tbody tr").first).to_be_visible()
    await expect(page.locator("#hl-run")).to_be_hidden()
    await page.click("#tab-backups")
    await expect(page.locator("#bk-run")).to_be_hidden()
    # The API itself refuses the viewer, whatever the page shows.
    refused = await page.evaluate(
        """async (key) => {
            const answer = await fetch('/api/v1/backups/actions', {
              method: 'POST',
              headers: {Authorization: `Bearer ${key}`, 'Content-Type': 'application/json'},
              body: JSON.stringify({operation: 'backup'})});
            return [answer.status, (await answer.json()).detail];
        }""",
        stack.viewer_key,
    )
    assert refused[0] == 403
    assert "viewer" in refused[1]
    await shot(page, "viewer")


async def test_an_unknown_key_is_refused_at_sign_in(page: Page, stack: Stack) -> None:
    await page.goto(stack.url)
    await page.fill("#login-key", "lk_admin_not-a-real-key")
    await page.click("#login-submit")
    await expect(page.locator("#login-error")).to_have_text("That key is unknown or was revoked.")
    await expect(page.locator("#app")).to_be_hidden()
    await shot(page, "refused")


async def test_an_unreachable_api_shows_a_banner_until_it_answers_again(
    page: Page, stack: Stack
) -> None:
    await sign_in(page, stack, stack.admin_key)
    await page.route("**/api/**", lambda route: route.abort("connectionrefused"))
    await page.click("#tab-analytics")
    banner = page.locator("#banner")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("unreachable")
    await shot(page, "unreachable")
    await page.unroute("**/api/**")
    await page.click("#tab-overview")
    await expect(banner).to_be_hidden(timeout=20_000)


async def test_phone_width_and_keyboard(browser: Browser, stack: Stack) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await context.new_page()
    try:
        await sign_in(page, stack, stack.admin_key)
        await page.click("#tab-health")
        await expect(page.locator("#hl-checks tbody tr").first).to_be_visible()
        # Nothing but the wide table's own scroller overflows the phone's width.
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
        await shot(page, "phone-health")
        # Tabs by keyboard: focus one, arrow to the next.
        await page.focus("#tab-health")
        await page.keyboard.press("ArrowRight")
        await expect(page.locator("#tab-backups")).to_have_attribute("aria-selected", "true")
        await expect(page.locator("#tab-backups")).to_be_focused()
        await expect(page.locator("#panel-backups")).to_be_visible()
        timing = await page.evaluate("() => performance.getEntriesByType('navigation')[0].toJSON()")
        print(f"dashboard load event at {timing['loadEventEnd']:.0f} ms after navigation start")
    finally:
        await context.close()


async def test_a_failing_part_says_so_in_its_own_place_and_the_others_still_load(
    page: Page, stack: Stack
) -> None:
    async def down(route: Route) -> None:
        what = route.request.url.split("/api/v1/")[1].split("?")[0]
        await route.fulfill(status=503, json={"detail": f"{what} is down"})

    await page.route(re.compile(r"/api/v1/analytics/search\?"), down)
    await page.route(re.compile(r"/api/v1/health/checks/[^/]+/history\?"), down)
    await page.route(re.compile(r"/api/v1/backups/schedules$"), down)
    await sign_in(page, stack, stack.admin_key)

    await page.click("#tab-analytics")
    await expect(page.locator("#analytics-search > .error")).to_have_text(
        "Could not load: analytics/search is down"
    )
    await expect(page.locator("#an-attempts")).not_to_have_text(NO_VALUE)
    await expect(page.locator("#analytics-bookings > .error")).to_have_count(0)

    await page.click("#tab-health")
    await expect(page.locator("#hl-response > .error")).to_contain_text("Could not load: health/")
    await expect(page.locator("#hl-checks tbody tr[data-check]").first).to_be_visible()

    await page.click("#tab-backups")
    await expect(page.locator("#bk-schedules tbody td.error")).to_have_text(
        "Could not load: backups/schedules is down"
    )
    await shot(page, "failing-parts")


class _HostPages:
    """Admin pages of a host application, each on its own loopback port (its own origin),
    embedding <lookout-dashboard> from `dashboard_url` as the brief mounts it."""

    def __init__(self, count: int) -> None:
        self.dashboard_url = ""
        self.key = ""
        self.servers = [
            ThreadingHTTPServer(("127.0.0.1", 0), self._handler()) for _ in range(count)
        ]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def origin(self, index: int) -> str:
        return f"http://127.0.0.1:{self.servers[index].server_address[1]}"

    def _page(self) -> bytes:
        return (
            "<!doctype html><html><head><title>Shop admin</title>"
            f'<script type="module" src="{self.dashboard_url}/embed/lookout-dashboard.js"></script>'
            "</head><body><h1>Shop admin</h1>"
            f'<lookout-dashboard url="{self.dashboard_url}" key="{self.key}"></lookout-dashboard>'
            "</body></html>"
        ).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages._page() if self.path == "/admin/dashboard" else b"not found"
                self.send_response(200 if self.path == "/admin/dashboard" else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return

        return Handler

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


async def test_the_dashboard_embeds_in_an_admin_page_on_an_allowed_origin_only(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    hosts = _HostPages(2)
    allowed, refused = hosts.origin(0), hosts.origin(1)
    # A second dashboard-api on the stack's database and broker, with the host's origin allowed.
    env = {name: value for name, value in stack.info["env"].items() if name != "LOOKOUT_HTTP_PORT"}
    env["LOOKOUT_CORS_ORIGINS"] = json.dumps([allowed])
    dashboard = ServiceProcess("lookout_dashboard", env, tmp_path)
    try:
        await asyncio.to_thread(dashboard.start)
        hosts.dashboard_url, hosts.key = dashboard.url, stack.viewer_key

        # The API answers the allowed origin's preflight, and refuses any other origin's.
        async with httpx.AsyncClient(base_url=dashboard.url, timeout=10) as http:
            for origin, status in ((allowed, 200), (refused, 400)):
                preflight = await http.options(
                    "/api/v1/stream",
                    headers={
                        "Origin": origin,
                        "Access-Control-Request-Method": "GET",
                        "Access-Control-Request-Headers": "authorization",
                    },
                )
                assert preflight.status_code == status, (origin, preflight.text)
                granted = preflight.headers.get("access-control-allow-origin")
                assert granted == (allowed if status == 200 else None)

        await page.goto(f"{allowed}/admin/dashboard")
        embedded = page.locator("lookout-dashboard")
        # The fresh process reads and gzips Plotly (4.8 MB) on this first load.
        await expect(embedded.locator("#whoami")).to_contain_text("viewer", timeout=30_000)
        await expect(embedded.locator("#live")).to_have_text("live", timeout=15_000)
        metrics = stack.api("/api/v1/dashboard/metrics")
        await expect(embedded.locator("#ov-bookings")).to_have_text(f"{metrics['todayBookings']:,}")
        await expect(embedded.locator("#ov-chats")).to_have_text(f"{metrics['chatSessions']:,}")
        # The dashboard lives in the element's shadow root: the host's document has none of it.
        assert await page.evaluate("() => document.getElementById('ov-bookings')") is None
        await shot(page, "embedded-overview")

        await embedded.locator("#tab-analytics").click()
        now = datetime.now(UTC)
        bookings = stack.api(
            "/api/v1/analytics/bookings",
            **{"from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat()},
            granularity="minute",
        )
        await expect(embedded.locator("#an-attempts")).to_have_text(f"{bookings['attempts']:,}")
        await expect(embedded.locator("#chart-events .main-svg").first).to_be_visible()

        await embedded.locator("#tab-health").click()
        checks = stack.api("/api/v1/health/checks")
        await expect(embedded.locator("#hl-checks tbody tr[data-check]")).to_have_count(len(checks))

        await embedded.locator("#tab-backups").click()
        runs = stack.api("/api/v1/backups/runs")
        await expect(embedded.locator("#bk-runs tbody tr")).to_have_count(len(runs) or 1)
        await shot(page, "embedded-backups")

        # Another origin gets nothing: the browser refuses the API's answers, and the element
        # says so where the dashboard would be.
        await page.goto(f"{refused}/admin/dashboard")
        embedded = page.locator("lookout-dashboard")
        await expect(embedded.locator("#embed-error")).to_contain_text("LOOKOUT_CORS_ORIGINS")
        await expect(embedded.locator("#embed-error")).to_contain_text(refused)
        await expect(embedded.locator("#app")).to_be_hidden()
        await expect(embedded.locator("#whoami")).to_have_text("")
        await shot(page, "embedded-refused")
    finally:
        await asyncio.to_thread(dashboard.stop)
        hosts.close()
