"""Every usage example of the marketplace's brief (mapped call by call in docs/brief.md) as the
marketplace wrote it, reaching the dashboard's counts through the real pipeline.

The brief's TypeScript calls run one for one on `@lookout/tracker` (its built `lookout.js`)
in headless Chromium: bookings without a `currency`, chat, searches, sign-up, errors with a
string context, a custom event and page views. Its metadata examples (a booking, a chat
message) are posted to ingest's HTTP API. One set of real processes serves the module:
ingest → Kafka → analytics-aggregator → Postgres → dashboard-api, whose answers are checked
against exact counts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Route
from support.db import create_keys, fresh_database
from support.resolve import Resolved
from support.services import ServiceProcess, settings_env
from support.wait import eventually

from lookout_common.infra.apikeys import Role
from lookout_common.infra.kafka import ensure_topics
from lookout_common.infra.settings import LookoutSettings

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "js"
# The marketplace is in Jakarta: a booking sent without a currency is in rupiah.
MARKETPLACE_CURRENCY = "IDR"

# The brief's "Usage Examples", "Integration Examples" and "Custom Integrations", as written;
# `useAnalytics()` and `analyticsService` are the tracker here (docs/brief.md). Page views
# stand for what useAnalytics tracks on mount and on each route change.
BRIEF_CALLS = """
async () => {
  const { trackBooking, trackChatActivity, trackSearch, trackUserRegistration, trackError } =
    tracker;
  const analyticsService = tracker;

  tracker.page();
  history.pushState({}, '', '/therapists');
  tracker.page();
  history.pushState({}, '', '/');
  tracker.page();

  // Track booking attempt
  trackBooking('attempt', {
    therapistId: 'therapist123',
    serviceType: 'massage',
    duration: 90,
    totalPrice: 150000,
    location: 'Jakarta'
  });
  // Booking event metadata, on completion
  trackBooking('completed', {
    therapistId: 'therapist123',
    serviceType: 'massage',
    duration: 90,
    totalPrice: 150000,
    location: 'Jakarta',
    paymentMethod: 'cash'
  });

  // Track chat start
  trackChatActivity('started', {
    chatId: 'chat123',
    participantType: 'customer'
  });

  // Track search
  trackSearch('massage therapist', { city: 'Jakarta' }, 25);

  // 1. Track User Registration
  const registerUser = async (userData) => {
    if (userData.email === 'taken@example.com') throw new Error('Email already registered');
  };
  const handleRegistration = async (userData) => {
    try {
      await registerUser(userData);
      trackUserRegistration('therapist', 'email_signup');
    } catch (error) {
      trackError(error, 'user_registration');
    }
  };
  await handleRegistration({ email: 'new@example.com' });
  await handleRegistration({ email: 'taken@example.com' });

  // 2. Monitor Search Performance
  const searchTherapists = async (query, filters) => [];
  const handleSearch = async (query, filters) => {
    const results = await searchTherapists(query, filters);
    trackSearch(query, filters, results.length);
  };
  await handleSearch('deep tissue', { city: 'Jakarta' });

  // Error Tracking
  const performOperation = async () => { throw new TypeError('Payment gateway timeout'); };
  try {
    await performOperation();
  } catch (error) {
    analyticsService.trackError(error, 'operation_context');
  }

  // Custom Integrations
  const promotionValue = 20;
  analyticsService.trackEvent('custom_event', {
    feature: 'special_promotion',
    value: promotionValue,
    timestamp: new Date().toISOString()
  });

  await tracker.flush();
  return {
    anonymousId: tracker.getAnonymousId(),
    queued: JSON.parse(localStorage.getItem('lookout.queue.' + WRITE_KEY) || '[]').length,
  };
}
"""

# The brief's "Metadata Examples", posted to ingest as a back end would.
BOOKING_METADATA = {
    "therapistId": "therapist123",
    "serviceType": "massage",
    "duration": 90,
    "totalPrice": 150000,
    "location": "Jakarta",
    "paymentMethod": "cash",
}
CHAT_METADATA = {
    "chatId": "conversation456",
    "participantType": "customer",
    "messageLength": 45,
    "hasAttachment": False,
}

EXPECTED_EVENTS = Counter(
    page_view=3,
    booking_attempt=1,
    booking_completed=2,  # the tracker's and the posted metadata's
    chat_started=1,
    chat_message_sent=1,
    search_performed=2,
    user_registered=1,
    error_occurred=2,
    custom_event=1,
)


@dataclass
class Marketplace:
    """The pipeline's processes and keys, as the marketplace's front end and admins use them."""

    ingest: ServiceProcess
    dashboard: ServiceProcess
    database_url: str
    write_key: str
    admin_key: str


@dataclass
class BriefRun:
    ingest: ServiceProcess
    dashboard: ServiceProcess
    database_url: str
    admin_key: str
    batch_answers: list[int]
    browser_visitor: dict


def _build_tracker(out: Path) -> bytes:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node not found: `make test` installs Debian's nodejs (scripts/system-deps.sh)")
    build = subprocess.run(
        [node, "scripts/build.mjs", str(out)],
        cwd=CLIENT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert build.returncode == 0, f"build failed:\n{build.stdout}\n{build.stderr}"
    return (out / "lookout.js").read_bytes()


@pytest.fixture(scope="module")
async def marketplace(
    postgres: Resolved, kafka: Resolved, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Marketplace]:
    """Real ingest (marketplace currency IDR), analytics-aggregator and dashboard-api processes
    on a fresh database and topics of this module's own."""
    database_url = await fresh_database(postgres.url)
    settings = LookoutSettings(
        kafka_bootstrap=kafka.url,
        database_url=database_url,
        topic_prefix=f"brief{uuid.uuid4().hex[:8]}.",
        topic_partitions=4,
    )
    await ensure_topics(settings)
    write_key, admin_key = await create_keys(
        database_url, (Role.INGEST, "marketplace front end"), (Role.ADMIN, "brief admin")
    )
    env = settings_env(settings, LOOKOUT_DEFAULT_CURRENCY=MARKETPLACE_CURRENCY)
    logs = tmp_path_factory.mktemp("brief-services")
    started: dict[str, ServiceProcess] = {}
    try:
        for module in ("lookout_aggregator", "lookout_dashboard", "lookout_ingest"):
            started[module] = ServiceProcess(module, env, logs)
            started[module].start()
        yield Marketplace(
            started["lookout_ingest"],
            started["lookout_dashboard"],
            database_url,
            write_key,
            admin_key,
        )
    finally:
        for service in reversed(started.values()):
            service.stop()


@pytest.fixture(scope="module")
async def brief_run(
    marketplace: Marketplace, browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> BriefRun:
    """The brief's calls made once in Chromium and its metadata posted once, then waited for
    until the dashboard counts every event."""
    ingest, write_key = marketplace.ingest, marketplace.write_key
    script = _build_tracker(tmp_path_factory.mktemp("tracker-dist"))
    page_html = (
        "<!doctype html><html><head><meta charset='utf-8'><title>IndaStreet Massage</title>"
        "</head><body><script src='/lookout.js'></script><script>"
        f"const WRITE_KEY = {json.dumps(write_key)};"
        "window.tracker = Lookout.init({ writeKey: WRITE_KEY, endpoint: location.origin,"
        " flushAt: 100, flushIntervalMs: 600000, consent: { analytics: true, geo: true } });"
        "</script></body></html>"
    )

    # The shop's page is served on ingest's own origin (ingest behind the site's proxy);
    # its POSTs to /v1/batch are not routed and reach the real ingest.
    async def shop(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=page_html)

    async def tracker_js(route: Route) -> None:
        await route.fulfill(status=200, content_type="text/javascript", body=script)

    context = await browser.new_context()
    await context.route(f"{ingest.url}/", shop)
    await context.route(f"{ingest.url}/lookout.js", tracker_js)
    page = await context.new_page()
    errors: list[str] = []
    answers: list[int] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda response: answers.append(response.status) if "/v1/batch" in response.url else None,
    )
    await page.goto(f"{ingest.url}/")
    visitor = await page.evaluate(BRIEF_CALLS)
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"

    async with httpx.AsyncClient(timeout=10) as client:
        for event, properties in (
            ("booking_completed", BOOKING_METADATA),
            ("chat_message_sent", CHAT_METADATA),
        ):
            answer = await client.post(
                f"{ingest.url}/v1/track",
                json={
                    "event": event,
                    "userId": "customer123",
                    "messageId": uuid.uuid4().hex,
                    "properties": properties,
                    "context": {"consent": {"analytics": True, "geo": True}},
                },
                auth=(write_key, ""),
            )
            answers.append(answer.status_code)
            assert answer.status_code == 200, (
                f"{event}: {answer.status_code} {answer.text}\n{ingest.log_tail()}"
            )

    run = BriefRun(
        ingest,
        marketplace.dashboard,
        marketplace.database_url,
        marketplace.admin_key,
        answers,
        visitor,
    )

    async def all_counted() -> bool:
        return sum((await _event_counts(run)).values()) >= EXPECTED_EVENTS.total()

    await eventually(all_counted, timeout=20, interval=0.25)
    return run


async def _get(run: BriefRun, path: str, **params: str) -> dict:
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.get(
            f"{run.dashboard.url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {run.admin_key}"},
        )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _event_counts(run: BriefRun) -> Counter[str]:
    now = datetime.now(UTC)
    series = await _get(
        run,
        "/api/v1/analytics/events",
        **{
            "from": (now - timedelta(hours=2)).isoformat(),
            "to": (now + timedelta(hours=1)).isoformat(),
            "granularity": "minute",
        },
    )
    counts: Counter[str] = Counter()
    for point in series["points"]:
        counts[point["event"]] += point["events"]
    return counts


async def test_every_brief_call_is_accepted_and_counted_once(brief_run: BriefRun) -> None:
    assert brief_run.batch_answers == [200, 200, 200], "one tracker batch, then two posts"
    assert brief_run.browser_visitor["queued"] == 0, "nothing left waiting in the tracker"
    assert await _event_counts(brief_run) == EXPECTED_EVENTS


async def test_get_dashboard_metrics_answers_the_brief_shape(brief_run: BriefRun) -> None:
    metrics = await _get(brief_run, "/api/v1/dashboard/metrics")
    assert metrics == {
        "activeUsers": 2,  # the browser's visitor and the back end's customer123
        "todayBookings": 2,
        "chatSessions": 1,
        "errorRate": round(100 * 2 / EXPECTED_EVENTS.total(), 2),
        "topPages": [{"page": "/", "views": 2}, {"page": "/therapists", "views": 1}],
    }


async def test_bookings_without_currency_count_in_the_marketplace_currency(
    brief_run: BriefRun,
) -> None:
    bookings = await _get(brief_run, "/api/v1/analytics/bookings/breakdown")
    assert (bookings["attempts"], bookings["completions"]) == (1, 2)
    assert [
        (row["currency"], Decimal(row["revenue"]), row["completions"])
        for row in bookings["revenue"]
    ] == [(MARKETPLACE_CURRENCY, Decimal(300000), 2)]
    assert [
        (row["serviceType"], row["attempts"], row["completions"])
        for row in bookings["byServiceType"]
    ] == [("massage", 1, 2)]
    # Sent with geo consent: the brief's location reaches the breakdown.
    assert [(row["location"], row["completions"]) for row in bookings["byLocation"]] == [
        ("Jakarta", 2)
    ]


async def test_chat_start_and_chat_metadata_count_as_a_chat_and_a_message(
    brief_run: BriefRun,
) -> None:
    chat = await _get(brief_run, "/api/v1/analytics/chat")
    assert (chat["chats"], chat["messages"]) == (1, 1)


async def test_searches_count_their_terms_city_filter_and_result_counts(
    brief_run: BriefRun,
) -> None:
    search = await _get(brief_run, "/api/v1/analytics/search")
    assert (search["searches"], search["zeroResultSearches"]) == (2, 1)
    assert sorted((term["term"], term["zeroResults"]) for term in search["terms"]) == [
        ("deep tissue", 1),
        ("massage therapist", 0),
    ]
    assert search["filters"] == [{"filter": "city", "searches": 2}]
    bins = {row["bin"]: row["searches"] for row in search["results"]}
    assert (bins["0"], bins["21-50"], sum(bins.values())) == (1, 1, 2)


async def test_errors_count_and_keep_their_string_context(brief_run: BriefRun) -> None:
    errors = await _get(brief_run, "/api/v1/analytics/errors")
    assert errors["errors"] == 2
    assert sorted((row["type"], row["message"], row["count"]) for row in errors["top"]) == [
        ("Error", "Email already registered", 1),
        ("TypeError", "Payment gateway timeout", 1),
    ]
    connection = await asyncpg.connect(brief_run.database_url)
    try:
        contexts = await connection.fetch(
            "SELECT properties->'context' AS context FROM user_analytics"
            " WHERE event = 'error_occurred'"
        )
    finally:
        await connection.close()
    assert sorted(json.loads(row["context"]) for row in contexts) == [
        "operation_context",
        "user_registration",
    ]


async def test_registration_and_custom_event_count_under_their_names(
    brief_run: BriefRun,
) -> None:
    counts = await _event_counts(brief_run)
    assert (counts["user_registered"], counts["custom_event"]) == (1, 1)
    connection = await asyncpg.connect(brief_run.database_url)
    try:
        rows = await connection.fetch(
            "SELECT event, properties FROM user_analytics"
            " WHERE event IN ('user_registered', 'custom_event') ORDER BY event"
        )
    finally:
        await connection.close()
    custom, registered = (json.loads(row["properties"]) for row in rows)
    assert registered == {"userType": "therapist", "method": "email_signup"}
    assert {key: custom[key] for key in ("feature", "value")} == {
        "feature": "special_promotion",
        "value": 20,
    }
    assert datetime.fromisoformat(custom["timestamp"]).tzinfo is not None
