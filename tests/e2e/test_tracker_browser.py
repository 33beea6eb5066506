"""The browser tracker (clients/js) in headless Chromium (Debian's `chromium`, driven by
Playwright) against real ingest, analytics-aggregator and dashboard-api processes: a page
loads `dist/lookout.js`, tracks a page view, a search and a booking, and is closed; the
events leave with `navigator.sendBeacon` on page hide and arrive on `analytics.events.v1`
and in the dashboard's event counts.

Two deployments: ingest on another origin than the page (the beacon goes as text/plain,
which needs no CORS preflight), and ingest behind the page's own origin (a small proxy
here; the beacon goes as application/json).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser
from support.browser_stack import BOOKING
from support.kafka import read_topic
from support.wait import eventually

from lookout_common.contracts.topics import Topic, topic_name

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "js"
PAGE_PATH = "/shop/therapists"
SEARCH = {"query": "thai massage", "filters": {"city": "Berlin"}, "resultsCount": 12}
BOOKING_BY_CARD = {**BOOKING, "paymentMethod": "card"}
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Therapists in Berlin</title></head>
<body><h1>Therapists</h1>
<script src="/lookout.js"></script>
<script>
  // Large flushAt and interval: nothing leaves before the page is closed.
  window.tracker = Lookout.init({
    writeKey: %(write_key)s, endpoint: %(endpoint)s,
    flushAt: 100, flushIntervalMs: 600000, debug: true,
  });
  tracker.page();
  tracker.trackSearch("thai massage", {city: "Berlin"}, 12);
  tracker.trackBooking("completed", %(booking)s);
  window.tracked = true;
</script></body></html>
"""


@pytest.fixture(scope="module")
def tracker_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`dist/lookout.js` built from clients/js/src into a directory of this module's own."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: `make test` installs Debian's nodejs (scripts/system-deps.sh)")
    out = tmp_path_factory.mktemp("tracker-dist")
    build = subprocess.run(
        [node, "scripts/build.mjs", str(out)],
        cwd=CLIENT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, f"build failed:\n{build.stdout}\n{build.stderr}"
    return out / "lookout.js"


class Site:
    """The product's pages on their own origin (127.0.0.1, another port than ingest); POSTs
    to /v1/batch are relayed to ingest, as a reverse proxy in front of both would."""

    def __init__(self, files: dict[str, tuple[str, bytes]], ingest_url: str) -> None:
        self.relayed_types: list[str] = []
        relayed_types = self.relayed_types

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                content_type, body = files.get(self.path, ("text/plain", b"not found"))
                self.answer(200 if self.path in files else 404, content_type, body)

            def do_POST(self) -> None:
                if self.path != "/v1/batch":
                    self.answer(404, "text/plain", b"not found")
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type = self.headers.get("Content-Type", "")
                relayed_types.append(content_type)
                answer = httpx.post(
                    f"{ingest_url}/v1/batch",
                    content=body,
                    headers={"Content-Type": content_type},
                    timeout=15,
                )
                self.answer(answer.status_code, "application/json", answer.content)

            def answer(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.endpoint = ""

    def __enter__(self) -> Site:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(params=["cross-origin", "same-origin"])
def site(request: pytest.FixtureRequest, pipeline, tracker_script: Path) -> Iterator[Site]:
    """The shop's page, sending to ingest directly (cross-origin) or through its own origin."""
    files = {"/lookout.js": ("text/javascript", tracker_script.read_bytes())}
    with Site(files, pipeline.ingest.url) as running:
        running.endpoint = pipeline.ingest.url if request.param == "cross-origin" else running.url
        page = PAGE % {
            "write_key": json.dumps(pipeline.write_key),
            "endpoint": json.dumps(running.endpoint),
            "booking": json.dumps({**BOOKING_BY_CARD, "location": "Berlin Mitte"}),
        }
        files[PAGE_PATH] = ("text/html; charset=utf-8", page.encode())
        yield running


async def _event_counts(pipeline, since: datetime) -> Counter[str]:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(
            f"{pipeline.dashboard.url}/api/v1/analytics/events",
            params={
                "from": since.isoformat(),
                "to": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                "granularity": "minute",
            },
            headers={"Authorization": f"Bearer {pipeline.admin_key}"},
        )
    assert answer.status_code == 200, answer.text
    counts: Counter[str] = Counter()
    for point in answer.json()["points"]:
        counts[point["event"]] += point["events"]
    return counts


async def test_closing_the_page_beacons_its_events_to_the_topic_and_dashboard(
    pipeline, site: Site, browser: Browser
) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    context = await browser.new_context()
    page = await context.new_page()
    console: list[str] = []
    errors: list[str] = []
    requests: list[tuple[str, str, str]] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    beacon_types: list[str | None] = []

    def sent(request) -> None:
        requests.append((request.method, request.resource_type, request.url))
        if request.resource_type == "ping":
            beacon_types.append(request.headers.get("content-type"))

    context.on("request", sent)

    await page.goto(f"{site.url}{PAGE_PATH}")
    await page.wait_for_function("window.tracked === true")
    visitor = await page.evaluate(
        """() => ({
            anonymousId: tracker.getAnonymousId(),
            sessionId: JSON.parse(localStorage.getItem('lookout.session')).id,
            userAgent: navigator.userAgent,
        })"""
    )
    batch_url = f"{site.endpoint}/v1/batch"
    assert not [r for r in requests if r[2] == batch_url], "nothing was sent before the close"
    await page.close(run_before_unload=True)  # pagehide → sendBeacon

    topic = topic_name(Topic.EVENTS, pipeline.settings.topic_prefix)
    records = await read_topic(pipeline.settings.kafka_bootstrap, topic, expect=3, timeout=20)
    await context.close()
    diagnosis = f"console: {console}\nrequests: {requests}\nrecords: {records}"
    assert not errors, f"JavaScript errors on the page: {errors}"
    by_event = {record["event"]: record for record in records}
    assert sorted(by_event) == ["booking_completed", "page_view", "search_performed"], diagnosis
    assert len(records) == 3, diagnosis
    assert ("POST", "ping", batch_url) in requests, f"not sent by sendBeacon: {requests}"
    if site.endpoint == site.url:
        assert beacon_types == site.relayed_types == ["application/json"]
    else:  # text/plain: no CORS preflight, which ingest's wildcard origin would fail
        assert beacon_types == ["text/plain"]

    page_view = by_event["page_view"]
    assert page_view["kind"] == "page"
    assert page_view["properties"]["path"] == PAGE_PATH
    assert page_view["properties"]["title"] == "Therapists in Berlin"
    assert page_view["properties"]["url"] == f"{site.url}{PAGE_PATH}"

    search = by_event["search_performed"]
    assert search["kind"] == "track"
    assert {key: search["properties"].get(key) for key in SEARCH} == SEARCH

    booking = by_event["booking_completed"]
    assert {key: booking["properties"].get(key) for key in BOOKING_BY_CARD} == BOOKING_BY_CARD
    assert "location" not in booking["properties"], "no geo consent: ingest drops the location"

    for record in records:
        assert record["anonymous_id"] == visitor["anonymousId"]
        assert record["user_id"] is None
        context_sent = record["context"]
        assert context_sent["sessionId"] == visitor["sessionId"]
        assert context_sent["consent"] == {"analytics": True, "geo": False}
        assert context_sent["library"]["name"] == "@lookout/tracker"
        assert context_sent["userAgent"] == visitor["userAgent"]
        assert context_sent["page"]["path"] == PAGE_PATH

    async def counted() -> Counter[str] | None:
        counts = await _event_counts(pipeline, since)
        return counts if sum(counts.values()) >= 3 else None

    counts = await eventually(counted, timeout=30, interval=0.5)
    assert counts == Counter(page_view=1, search_performed=1, booking_completed=1)
