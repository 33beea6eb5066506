"""The Analytics tab's sections in headless Chromium against the real stack (`lookout up`
with the demo's marketplace traffic): each section shows what its endpoint answers for the
range the page used (every section says which, in `data-from`/`data-to`), the heavy ones
load when they come into view or are asked for, a range without data says so instead of
showing numbers, the tab fits a phone's width and works from the keyboard, and the page
logs no error and breaks no rule of its Content-Security-Policy.

Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, Route, expect
from support.browser_stack import ARTIFACTS, Stack, shot, sign_in

from lookout_devstack.demo import EXPERIMENT

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

DEFAULT_FUNNEL = ["search_performed", "booking_attempt", "booking_completed"]
RATING_TEXT = {"good": "good", "needs-improvement": "needs improvement", "poor": "poor"}
# Collects what the browser reports when the page breaks its Content-Security-Policy.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""
EMPTY = "No data in this range."
NO_VALUE = "\u2013"  # what the page shows where there is no number (an en dash)


def _last_hour() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"from": (now - timedelta(hours=1)).isoformat(), "to": now.isoformat()}


def _missing(stack: Stack) -> list[str]:
    """What the traffic so far has not produced for some section to show."""
    hour = _last_hour()
    missing = []
    if not stack.api("/api/v1/analytics/search", **hour)["zeroResultSearches"]:
        missing.append("a search that found nothing")
    if not stack.api("/api/v1/analytics/performance", **hour)["pages"]:
        missing.append("Web Vitals")
    if not stack.api("/api/v1/analytics/errors", **hour)["top"]:
        missing.append("an error")
    if not stack.api("/api/v1/analytics/geography", **hour)["countries"]:
        missing.append("a located event")
    if not stack.api("/api/v1/analytics/bookings/breakdown", **hour)["revenue"]:
        missing.append("a completed booking")
    variants = {
        experiment["experiment"]: experiment["variants"]
        for experiment in stack.api("/api/v1/analytics/experiments")
    }
    if len(variants.get(EXPERIMENT, {})) < 2:
        missing.append(f"both variants of {EXPERIMENT}")
    return missing


@pytest.fixture(scope="module")
async def measured(stack: Stack) -> Stack:
    """The stack (`lookout up` with demo traffic) once that traffic has given every section
    something to show; more demo visits are sent while anything is missing."""
    deadline = time.monotonic() + 60
    while missing := await asyncio.to_thread(_missing, stack):
        assert time.monotonic() < deadline, f"the demo traffic never produced {missing}"
        await stack.send_demo_traffic(3)
    return stack


class Watch:
    """Console errors and Content-Security-Policy violations of one page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.console: list[str] = []
        page.on("console", self._console)

    def _console(self, message) -> None:
        if message.type == "error":
            self.console.append(message.text)

    @classmethod
    async def start(cls, page: Page) -> Watch:
        await page.add_init_script(CSP_LISTENER)
        return cls(page)

    async def assert_clean(self) -> None:
        violations = await self.page.evaluate("() => window.__cspViolations")
        assert not violations, f"Content-Security-Policy violations: {violations}"
        assert not self.console, f"console errors: {self.console}"


async def _range_of(page: Page, selector: str) -> dict[str, str]:
    """The [from, to) the page used for a section (or the whole tab)."""
    node = page.locator(selector)
    await expect(node).to_have_attribute("data-to", re.compile(".+"))
    return {
        "from": await node.get_attribute("data-from"),
        "to": await node.get_attribute("data-to"),
    }


def _cells(page: Page, row: str) -> Locator:
    return page.locator(f"{row} td")


async def _open_analytics(page: Page, stack: Stack) -> dict[str, str]:
    await sign_in(page, stack, stack.admin_key)
    await page.click("#tab-analytics")
    # Loaded: the top terms and the performance table have rows from the API.
    await expect(page.locator("#se-terms tbody tr[data-term]").first).to_be_visible()
    await expect(page.locator("#pf-pages tbody tr[data-page]").first).to_be_visible()
    return await _range_of(page, "#panel-analytics")


async def _section_shot(page: Page, name: str) -> None:
    """One section of the tab, at full size, for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.locator(f"#analytics-{name}").screenshot(
        path=ARTIFACTS / f"dashboard-analytics-{name}.png"
    )


async def _realtime_agrees(page: Page, stack: Stack) -> None:
    """The cards equal the endpoint's answer (both move at minute boundaries, and the page
    refreshes them on the live stream's ticks: they agree within a few seconds)."""
    names = {
        "active": "activeUsers",
        "dau": "dau",
        "wau": "wau",
        "mau": "mau",
        "epm": "eventsPerMinute",
    }
    shown: list[str] = []
    expected: list[str] = []
    for _ in range(30):
        answer = stack.api("/api/v1/analytics/realtime")
        events = sum(point["events"] for point in answer["lastHour"])
        expected = [f"{answer[field]:,}" for field in names.values()]
        expected.append(f"{answer['errorRate']:.2f} %" if events else NO_VALUE)
        shown = [await page.locator(f"#rt-{name}").inner_text() for name in names]
        shown.append(await page.locator("#rt-errors").inner_text())
        if shown == expected:
            return
        await asyncio.sleep(1)
    assert shown == expected


async def test_each_section_shows_its_endpoints_numbers_for_the_pages_range(
    page: Page, measured: Stack
) -> None:
    stack = measured
    watch = await Watch.start(page)
    shown_range = await _open_analytics(page, stack)

    # Real time: active now, DAU/WAU/MAU, events per minute and its sparkline, error rate.
    await _realtime_agrees(page, stack)
    await expect(page.locator("#rt-spark svg polyline")).to_have_count(1)

    # Bookings: revenue per currency (never summed), by service type and by location.
    breakdown = stack.api("/api/v1/analytics/bookings/breakdown", **shown_range)
    revenue = breakdown["revenue"][0]
    row = f'#bk-revenue tr[data-currency="{revenue["currency"]}"]'
    await expect(_cells(page, row).nth(1)).to_have_text(f"{Decimal(revenue['revenue']):,}")
    await expect(_cells(page, row).nth(2)).to_have_text(f"{revenue['completions']:,}")
    await expect(page.locator("#bk-revenue tbody tr")).to_have_count(len(breakdown["revenue"]))
    service = breakdown["byServiceType"][0]
    row = f'#bk-services tr[data-name="{service["serviceType"]}"]'
    await expect(_cells(page, row).nth(1)).to_have_text(f"{service['attempts']:,}")
    location = breakdown["byLocation"][0]
    row = f'#bk-locations tr[data-name="{location["location"]}"]'
    await expect(_cells(page, row).nth(2)).to_have_text(f"{location['completions']:,}")

    # Chat.
    chat = stack.api("/api/v1/analytics/chat", **shown_range, granularity="minute")
    await expect(page.locator("#ch-chats")).to_have_text(f"{chat['chats']:,}")
    await expect(page.locator("#ch-messages")).to_have_text(f"{chat['messages']:,}")

    # Search: the top term and its count, the zero-result rate, the results histogram.
    search = stack.api("/api/v1/analytics/search", **shown_range)
    top_term = page.locator("#se-terms tbody tr").first.locator("td")
    await expect(top_term.nth(0)).to_have_text(search["terms"][0]["term"])
    await expect(top_term.nth(1)).to_have_text(f"{search['terms'][0]['searches']:,}")
    await expect(page.locator("#se-zero-rate")).to_have_text(f"{search['zeroResultRate']:.2f} %")
    bins = await page.evaluate("() => document.getElementById('chart-results').data[0].x")
    assert bins == ["0", "1", "2-5", "6-10", "11-20", "21-50", "51-100", "&gt;100"]

    # Pages: views, visitors, load time percentiles.
    pages = stack.api("/api/v1/analytics/pages", **shown_range, limit=10)
    first_page = _cells(page, f'#an-pages tr[data-page="{pages[0]["page"]}"]')
    await expect(first_page.nth(1)).to_have_text(f"{pages[0]['views']:,}")
    await expect(first_page.nth(2)).to_have_text(f"{pages[0]['visitors']:,}")
    await expect(first_page.nth(3)).to_have_text(f"{pages[0]['loadTimeP50']:.1f} ms")

    # Performance: a page's LCP p75 and its rating, in words as well as colour.
    performance = stack.api("/api/v1/analytics/performance", **shown_range)
    measured_page = performance["pages"][0]
    lcp = page.locator(f'#pf-pages tr[data-page="{measured_page["page"]}"] td[data-metric=lcp]')
    await expect(lcp.locator(".vital")).to_have_text(f"{measured_page['lcp']['p75']:.1f} ms")
    await expect(lcp.locator(".badge")).to_have_text(RATING_TEXT[measured_page["lcp"]["rating"]])

    # Errors: the count and the most frequent error by fingerprint.
    errors = stack.api("/api/v1/analytics/errors", **shown_range, granularity="minute")
    await expect(page.locator("#er-count")).to_have_text(f"{errors['errors']:,}")
    top_error = errors["top"][0]
    row = f'#er-top tr[data-fingerprint="{top_error["fingerprint"]}"]'
    await expect(_cells(page, row).nth(0)).to_have_text(top_error["type"])
    await expect(_cells(page, row).nth(3)).to_have_text(f"{top_error['count']:,}")

    # Geography: a country's events, and the database's credit.
    geography = stack.api("/api/v1/analytics/geography", **shown_range)
    country = geography["countries"][0]
    row = f'#geo-countries tr[data-country="{country["country"]}"]'
    await expect(_cells(page, row).nth(1)).to_have_text(f"{country['events']:,}")
    credit = page.locator("#analytics-geography .credit a")
    await expect(credit).to_have_text("IP Geolocation by DB-IP")
    await expect(credit).to_have_attribute("href", "https://db-ip.com")
    await shot(page, "analytics-insights")

    # Funnel: the default steps, run on demand; people per step are the endpoint's.
    await page.click('.index a[href="#analytics-funnels"]')
    await expect(page.locator("#fn-result")).to_be_visible()
    await page.click("#fn-run")
    await expect(page.locator("#fn-status")).to_contain_text("people started")
    funnel_range = await _range_of(page, "#analytics-funnels")
    async with httpx.AsyncClient(timeout=30) as http:
        posted = await http.post(
            f"{stack.url}/api/v1/analytics/funnels",
            json={
                "steps": [{"event": e} for e in DEFAULT_FUNNEL],
                "windowS": 86400,
                **funnel_range,
            },
            headers={"Authorization": f"Bearer {stack.admin_key}"},
        )
    answer = posted.raise_for_status().json()
    assert answer["steps"][0]["people"] > 0
    for step in answer["steps"]:
        row = f'#fn-result tr[data-step="{step["step"]}"]'
        await expect(_cells(page, row).nth(2)).to_have_text(f"{step['people']:,}")
    await expect(page.locator("#chart-funnel .main-svg").first).to_be_visible()

    # Journeys from the home page: a Sankey with the endpoint's nodes.
    await page.click('.index a[href="#analytics-journeys"]')
    await expect(page.locator("#chart-journeys .main-svg").first).to_be_visible()
    journeys_range = await _range_of(page, "#analytics-journeys")
    journeys = stack.api(
        "/api/v1/analytics/journeys", **journeys_range, startStep="page:/", depth=4
    )
    nodes = await page.evaluate(
        "() => document.getElementById('chart-journeys').data[0].node.label.length"
    )
    assert nodes == len(journeys["nodes"]) > 0
    await expect(page.locator("#jn-paths tbody tr")).to_have_count(len(journeys["paths"]))

    # Retention: the first cohort's size.
    await page.click('.index a[href="#analytics-retention"]')
    await expect(page.locator("#rn-cohorts tbody tr[data-week]").first).to_be_visible()
    retention_range = await _range_of(page, "#analytics-retention")
    retention = stack.api("/api/v1/analytics/retention", **retention_range, cohortBy="first_seen")
    first_cohort = page.locator("#rn-cohorts tbody tr").first.locator("td")
    await expect(first_cohort.nth(1)).to_have_text(f"{retention['cohorts'][0]['people']:,}")

    # Experiments: exposures per variant and the sample-ratio warning as the endpoint says.
    await page.click('.index a[href="#analytics-experiments"]')
    await expect(page.locator("#ex-variants")).to_be_visible()
    await expect(page.locator("#ex-name")).to_have_value(EXPERIMENT)
    experiment_range = await _range_of(page, "#analytics-experiments")
    experiment = stack.api(
        f"/api/v1/analytics/experiments/{EXPERIMENT}", **experiment_range, goal="booking_completed"
    )
    for variant in experiment["variants"]:
        row = f'#ex-variants tr[data-variant="{variant["name"]}"]'
        await expect(_cells(page, row).nth(1)).to_have_text(f"{variant['exposures']:,}")
        await expect(_cells(page, row).nth(2)).to_have_text(f"{variant['conversions']:,}")
    srm = page.locator("#ex-srm")
    if experiment["sampleRatio"]["srmWarning"]:
        await expect(srm).to_be_visible()
    else:
        await expect(srm).to_be_hidden()
    await shot(page, "analytics-insights-people")
    for name in ("realtime", "bookings", "search", "performance", "errors", "geography"):
        await _section_shot(page, name)
    for name in ("funnels", "journeys", "retention", "experiments"):
        await _section_shot(page, name)
    await watch.assert_clean()


async def _to_the_past(route: Route) -> None:
    """Sends the page's analytics request for a day in 2001 instead of its own range."""
    past = {"from": "2001-01-01T00:00:00+00:00", "to": "2001-01-02T00:00:00+00:00"}
    request = route.request
    if request.method == "POST" and request.post_data:
        await route.continue_(post_data=json.dumps({**json.loads(request.post_data), **past}))
        return
    parts = urlsplit(request.url)
    query = dict(parse_qsl(parts.query))
    if "from" in query:
        query.update(past)
    await route.continue_(url=urlunsplit(parts._replace(query=urlencode(query))))


async def test_a_range_without_data_says_so_and_shows_no_rates(page: Page, measured: Stack) -> None:
    await page.route("**/api/v1/analytics/**", _to_the_past)
    await sign_in(page, measured, measured.admin_key)
    await page.click("#tab-analytics")
    await expect(page.locator("#se-terms tbody td")).to_have_text(EMPTY)
    for table in ("bk-revenue", "bk-services", "se-filters", "an-pages", "pf-pages", "er-top"):
        await expect(page.locator(f"#{table} tbody td")).to_have_text(EMPTY)
    for chart in ("events", "bookings", "results", "countries", "active"):
        await expect(page.locator(f"#chart-{chart}-empty")).to_be_visible()
        await expect(page.locator(f"#chart-{chart}")).to_be_hidden()
    # A rate over nothing is not 0 %: it is not shown.
    for card in ("an-conversion", "se-zero-rate", "er-rate", "ch-per-session"):
        await expect(page.locator(f"#{card}")).to_have_text(NO_VALUE)
    await expect(page.locator("#se-searches")).to_have_text("0")

    await page.click('.index a[href="#analytics-funnels"]')
    await expect(page.locator("#fn-status")).to_have_text(EMPTY)
    await expect(page.locator("#fn-result")).to_be_hidden()
    await page.click('.index a[href="#analytics-journeys"]')
    await expect(page.locator("#jn-status")).to_have_text(EMPTY)
    await expect(page.locator("#chart-journeys")).to_be_hidden()
    await page.click('.index a[href="#analytics-retention"]')
    await expect(page.locator("#rn-cohorts tbody td")).to_have_text(EMPTY)
    await shot(page, "analytics-empty")


async def test_phone_width_keyboard_and_lazy_sections(browser: Browser, measured: Stack) -> None:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = await context.new_page()
    try:
        watch = await Watch.start(page)
        requests: list[str] = []
        page.on("request", lambda request: requests.append(urlsplit(request.url).path))
        await _open_analytics(page, measured)
        # Heavy sections wait until they are looked at.
        assert "/api/v1/analytics/journeys" not in requests
        assert "/api/v1/analytics/retention" not in requests

        # The index by keyboard: the section's heading takes the focus.
        await page.focus('.index a[href="#analytics-funnels"]')
        await page.keyboard.press("Enter")
        await expect(page.locator("#h-funnels")).to_be_focused()
        await expect(page.locator("#fn-result")).to_be_visible()

        # The funnel builder by keyboard: add a step, name it, remove it again.
        await page.focus("#fn-add")
        await page.keyboard.press("Enter")
        steps = page.locator("#fn-steps li")
        await expect(steps).to_have_count(4)
        await expect(steps.nth(3).locator(".step-event")).to_be_focused()
        await page.keyboard.type("chat_started")
        await page.focus('#fn-steps button[aria-label="Remove step 4"]')
        await page.keyboard.press("Enter")
        await expect(steps).to_have_count(3)
        await expect(steps.nth(2).locator(".step-event")).to_be_focused()

        for name in ("journeys", "retention", "experiments"):
            await page.click(f'.index a[href="#analytics-{name}"]')
        await expect(page.locator("#chart-journeys .main-svg").first).to_be_visible()
        await expect(page.locator("#rn-cohorts tbody tr[data-week]").first).to_be_visible()
        await expect(page.locator("#ex-variants")).to_be_visible()

        # Nothing but the tables' own scrollers is wider than the phone.
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 0
        await shot(page, "phone-analytics")
        await watch.assert_clean()
    finally:
        await context.close()
