"""Every metric endpoint of "analytics in depth" against a real dashboard-api reading a
real database: a seeded, generated week of marketplace traffic is stored through the
aggregator's own batch statement, and each answer is compared with the same number
worked out here in Python from the generated events (never by running SQL).

LOOKOUT_TIMEZONE is Asia/Kolkata (UTC+05:30), so local days start at 18:30 UTC and
UTC hour buckets straddle local midnight."""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from support.db import create_keys, fresh_database
from support.events import event, store
from support.services import ServiceProcess, settings_env

from lookout_common.contracts.events import AnalyticsEvent
from lookout_common.infra.apikeys import Role
from lookout_common.infra.kafka import ensure_topics
from lookout_common.infra.settings import LookoutSettings

pytestmark = pytest.mark.integration

ZONE = "Asia/Kolkata"
LOCAL = ZoneInfo(ZONE)
FIRST_DAY = date(2026, 9, 29)  # a Tuesday: the week spans an ISO week and a month boundary
DAYS = 8
ACTIVE_WINDOW_S = 300

USERS = [f"u-{i:02}" for i in range(1, 61)]
ANONYMOUS = [f"anon-{i:02}" for i in range(1, 31)]
PATHS = ["/", "/therapists", "/therapists/42", "/pricing", "/help", "/book", "/account"]
SLOWNESS = {"/": 0.5, "/pricing": 0.6, "/book": 2.0, "/account": 2.4}
SERVICES = ["swedish", "deep-tissue", "thai", "hot-stone"]
CURRENCIES = ["EUR", "USD", "INR"]
LOCATIONS = ["Berlin", "Mumbai", "New York", "Pune"]
TERMS = ["swedish massage", "deep tissue", "thai", "near me", "hot stone berlin", "xyzzy"]
FILTERS = ["price", "rating", "gender", "distance", "availability"]
ERROR_KINDS = [  # fingerprint, type, message, top frame; several events share each
    ("f-checkout", "TypeError", "price is undefined", "checkout.js:41 pay"),
    ("f-map", "ReferenceError", "google is not defined", "map.js:7 draw"),
    ("f-chat", "NetworkError", "socket closed", "chat.js:120 send"),
    ("f-search", "RangeError", "page out of range", "search.js:88 next"),
    ("f-login", "Error", "token expired", "auth.js:12 refresh"),
]
PLACES = [
    ("DE", "Berlin"),
    ("DE", "Munich"),
    ("IN", "Mumbai"),
    ("IN", "Pune"),
    ("US", "New York"),
    ("US", ""),
    ("FR", ""),
]
EVENT_WEIGHTS = {
    "page_view": 30,
    "performance": 12,
    "search_performed": 12,
    "booking_attempt": 8,
    "booking_completed": 4,
    "chat_started": 5,
    "chat_message_sent": 12,
    "error_occurred": 6,
    "login_attempt": 5,
    "notification_sent": 6,
}
VITALS = {"lcp": (2500, 4000), "inp": (200, 500), "cls": (0.1, 0.25), "ttfb": (800, 1800)}
VITALS["fcp"] = (1800, 3000)
RESULT_BINS = ["0", "1", "2-5", "6-10", "11-20", "21-50", "51-100", ">100"]
BIN_TOPS = [0, 1, 5, 10, 20, 50, 100, math.inf]  # the largest results count of each bin
RESULT_COUNTS = [(0, 0), (1, 1), (2, 5), (6, 10), (11, 20), (21, 50), (51, 100), (101, 900)]

# 23:50 on 1 October and 00:10 on 2 October in Kolkata: both in the 18:00 UTC hour.
LATE = datetime(2026, 10, 1, 23, 50, tzinfo=LOCAL).astimezone(UTC)
EARLY = datetime(2026, 10, 2, 0, 10, tzinfo=LOCAL).astimezone(UTC)

WHOLE = {"from": "2026-09-28T00:00:00Z", "to": "2026-10-08T00:00:00Z"}
# Starts at 00:07 local on 2 October, ends at 11:22 local on 4 October: neither edge on a
# minute, quarter hour or hour boundary of the buckets.
PART = {"from": "2026-10-01T18:37:30Z", "to": "2026-10-04T05:52:10Z"}
# Under two days: histograms are read by the hour.
SHORT = {"from": "2026-10-01T18:37:30Z", "to": "2026-10-02T21:52:10Z"}


# --- the generated traffic ----------------------------------------------------------------


def _actor(name: str) -> dict[str, str]:
    return {"user": name} if name.startswith("u-") else {"anonymous": name}


def _properties(kind: str, draw: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """(properties, context) of one generated event."""
    context: dict[str, Any] = {}
    if kind == "page_view":
        path = draw.choices(PATHS, weights=[9, 7, 4, 3, 2, 2, 1])[0]
        properties: dict[str, Any] = {"path": path}
        if draw.random() < 0.75:
            properties["loadTime"] = round(draw.lognormvariate(math.log(900), 0.6), 1)
        context["page"] = {"path": path}
    elif kind == "performance":
        path = "" if draw.random() < 0.1 else draw.choice(PATHS)
        properties = {"path": path} if path else {}
        slow = SLOWNESS.get(path, 1.0)  # fast and slow pages: every rating occurs
        shapes = {
            "lcp": lambda: round(slow * draw.lognormvariate(math.log(2400), 0.5), 1),
            "inp": lambda: round(slow * draw.lognormvariate(math.log(140), 0.7), 1),
            "cls": lambda: 0 if draw.random() < 0.3 else round(slow * draw.betavariate(1.5, 10), 4),
            "ttfb": lambda: round(slow * draw.lognormvariate(math.log(650), 0.5), 1),
            "fcp": lambda: round(slow * draw.lognormvariate(math.log(1500), 0.4), 1),
            "apiResponseTime": lambda: round(draw.expovariate(1 / 180), 1),
        }
        for metric, shape in shapes.items():
            if draw.random() < 0.85:
                properties[metric] = shape()
    elif kind in ("booking_attempt", "booking_completed"):
        properties = {"therapistId": f"t-{draw.randint(1, 9)}"}
        properties["serviceType"] = draw.choices(SERVICES, weights=[5, 3, 2, 1])[0]
        if kind == "booking_completed" or draw.random() < 0.9:
            properties["currency"] = draw.choices(CURRENCIES, weights=[4, 3, 2])[0]
            properties["totalPrice"] = round(draw.uniform(20, 180), 2)
        if draw.random() < 0.85:
            properties["location"] = draw.choice(LOCATIONS)
    elif kind in ("chat_started", "chat_message_sent"):
        properties = {"chatId": f"c-{draw.randint(1, 140)}"}
    elif kind == "search_performed":
        term = draw.choices(TERMS, weights=[6, 4, 3, 3, 2, 1])[0]
        shown = draw.choice([term, term.upper(), term.title()])
        properties = {"query": " " * draw.randint(0, 2) + shown + " " * draw.randint(0, 2)}
        properties["filters"] = {key: True for key in FILTERS if draw.random() < 0.25}
        if term == "xyzzy":
            properties["resultsCount"] = 0
        elif draw.random() < 0.9:
            low, high = draw.choice(RESULT_COUNTS)
            properties["resultsCount"] = draw.randint(low, high)
    elif kind == "error_occurred":
        fingerprint, type_, message, frame = draw.choices(ERROR_KINDS, weights=[6, 4, 3, 2, 1])[0]
        properties = {
            "fingerprint": fingerprint,
            "type": type_,
            "message": message,
            "topFrame": frame,
        }
    elif kind == "login_attempt":
        properties = {"success": draw.random() < 0.8}
    else:
        properties = {"channel": draw.choice(["email", "push", "sms"])}
    if draw.random() < 0.3:
        country, city = draw.choice(PLACES)
        context["geo"] = {"country": country, **({"city": city} if city else {})}
    return properties, context


def historical() -> list[AnalyticsEvent]:
    """Eight local days of traffic (never within 30 minutes of local midnight), plus two
    people, two chats and two errors just before and just after one local midnight."""
    draw = random.Random(20261005)
    people = USERS + ANONYMOUS
    kinds, weights = list(EVENT_WEIGHTS), list(EVENT_WEIGHTS.values())
    events = []
    for offset in range(DAYS):
        morning = datetime.combine(FIRST_DAY + timedelta(days=offset), time(0, 30), LOCAL)
        # A different crowd each day, so that days, weeks and months count differently.
        crowd = draw.sample(people, draw.randint(12, 40))
        for _ in range(380):
            at = (morning + timedelta(seconds=draw.randint(0, 23 * 3600))).astimezone(UTC)
            kind = draw.choices(kinds, weights=weights)[0]
            properties, context = _properties(kind, draw)
            who = _actor(draw.choice(crowd))
            events.append(event(kind, at, properties=properties, context=context, **who))
    for name, at in (("edge-late", LATE), ("edge-early", EARLY)):
        events += [
            event("page_view", at, anonymous=name, properties={"path": "/help"}),
            event("chat_started", at, anonymous=name, properties={"chatId": f"chat-{name}"}),
            event(
                "error_occurred",
                at,
                anonymous=name,
                properties=dict(
                    zip(("fingerprint", "type", "message", "topFrame"), ERROR_KINDS[4], strict=True)
                ),
            ),
        ]
    return events


def recent(now: datetime) -> list[AnalyticsEvent]:
    """Traffic of the last hour, and people last seen hours, days and weeks ago."""
    draw = random.Random(7)
    events = []
    for second in range(20, 3600, 23):
        kind = "error_occurred" if draw.random() < 0.15 else "page_view"
        properties = {"path": "/"} if kind == "page_view" else {"message": "boom", "type": "E"}
        who = _actor(f"live-{draw.randint(1, 6)}")
        events.append(event(kind, now - timedelta(seconds=second), properties=properties, **who))
    for name, ago in (
        ("seen-3h", timedelta(hours=3)),
        ("seen-3d", timedelta(days=3)),
        ("seen-10d", timedelta(days=10)),
        ("seen-25d", timedelta(days=25)),
        ("seen-45d", timedelta(days=45)),
    ):
        events.append(event("login_attempt", now - ago, user=name, properties={"success": True}))
    return events


# --- reference answers, from the events --------------------------------------------------


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def floor(at: datetime, minutes: int) -> datetime:
    """The UTC bucket of `minutes` (1, 15, 60 or 1440) that `at` falls in."""
    at = at.astimezone(UTC)
    if minutes == 1440:
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(minute=at.minute - at.minute % minutes, second=0, microsecond=0)


def histogram_minutes(window: dict[str, str]) -> int:
    """The histograms' bucket for a range: UTC hours, UTC days beyond two days."""
    return 1440 if _at(window["to"]) - _at(window["from"]) > timedelta(days=2) else 60


def local_bucket(minute: datetime, granularity: str) -> datetime:
    local = minute.astimezone(LOCAL)
    if granularity == "hour":
        local = local.replace(minute=0)
    elif granularity == "day":
        local = local.replace(hour=0, minute=0)
    return local.astimezone(UTC)


def rate(part: int, whole: int) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def exact_percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered) - 1e-9)) - 1]


def assert_close(found: float | None, expected: float | None, what: object) -> None:
    """Within the histograms' 2.5 % (values at or below 1e-9 come back as 0)."""
    if expected is None:
        assert found is None, what
    elif expected <= 1e-9:
        assert found == 0, what
    else:
        assert found is not None, what
        assert abs(found - expected) <= 0.025 * expected, (what, found, expected)


def actor(e: AnalyticsEvent) -> str:
    return e.user_id or e.anonymous_id or ""


@dataclass
class Traffic:
    http: httpx.AsyncClient
    events: list[AnalyticsEvent]

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(f"/api/v1/analytics/{path}", params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def within(self, window: dict[str, str], minutes: int, name: str | None = None):
        """Events whose `minutes` bucket starts in [from, to), optionally of one name."""
        start, end = _at(window["from"]), _at(window["to"])
        return [
            e
            for e in self.events
            if start <= floor(e.timestamp, minutes) < end and (name is None or e.event == name)
        ]


def top(counts: Counter, limit: int) -> list[tuple[Any, int]]:
    """Most first, ties by key in code point order (the endpoints' order)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


@pytest.fixture(scope="module")
async def traffic(postgres, kafka, tmp_path_factory) -> AsyncIterator[Traffic]:
    """A fresh database on the suite's real PostgreSQL holding the generated traffic, read
    by a real dashboard-api process (on the suite's real Kafka broker) with a viewer key."""
    dsn = await fresh_database(postgres.url)
    settings = LookoutSettings(
        kafka_bootstrap=kafka.url,
        database_url=dsn,
        topic_prefix=f"t{uuid.uuid4().hex[:8]}.",
        timezone=ZONE,
    )
    await ensure_topics(settings)
    events = historical() + recent(datetime.now(UTC))
    assert await store(dsn, events, timezone=ZONE) == len(events)
    (viewer,) = await create_keys(dsn, (Role.VIEWER, "analyst"))
    env = settings_env(settings, LOOKOUT_ACTIVE_WINDOW_S=str(ACTIVE_WINDOW_S))
    service = ServiceProcess("lookout_dashboard", env, tmp_path_factory.mktemp("dashboard"))
    service.start()
    try:
        headers = {"Authorization": f"Bearer {viewer}"}
        async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=60) as http:
            yield Traffic(http, events)
    finally:
        service.stop()


# --- the endpoints ------------------------------------------------------------------------


async def test_realtime_counts_people_and_the_last_hour_of_events(traffic: Traffic) -> None:
    answer = await traffic.get("realtime")
    at = _at(answer["at"])
    since = (at - timedelta(seconds=ACTIVE_WINDOW_S)).replace(second=0, microsecond=0)
    active = {actor(e) for e in traffic.events if since <= floor(e.timestamp, 1) <= at}
    last_seen: dict[str, datetime] = {}
    for e in traffic.events:
        last_seen[actor(e)] = max(last_seen.get(actor(e), e.timestamp), e.timestamp)
    minute = floor(at, 1)
    minutes = [minute - timedelta(minutes=60 - i) for i in range(60)]
    per_minute = Counter(floor(e.timestamp, 1) for e in traffic.events)
    errors = sum(
        1
        for e in traffic.events
        if e.event == "error_occurred" and minutes[0] <= floor(e.timestamp, 1) < minute
    )

    assert answer["activeUsers"] == len(active) > 0
    for key, days in (("dau", 1), ("wau", 7), ("mau", 30)):
        assert answer[key] == sum(1 for s in last_seen.values() if s >= at - timedelta(days=days))
    assert answer["mau"] > answer["wau"] > answer["dau"] > 0
    assert [(_at(p["minute"]), p["events"]) for p in answer["lastHour"]] == [
        (m, per_minute[m]) for m in minutes
    ]
    assert answer["eventsPerMinute"] == per_minute[minutes[-1]]
    assert answer["errorRate"] == rate(errors, sum(per_minute[m] for m in minutes))


@pytest.mark.parametrize("granularity", ["day", "week", "month"])
async def test_active_people_per_local_day_week_and_month(traffic: Traffic, granularity) -> None:
    def start_of(day: date) -> date:
        if granularity == "week":
            return day - timedelta(days=day.weekday())
        return day.replace(day=1) if granularity == "month" else day

    people: dict[date, set[str]] = defaultdict(set)
    for e in traffic.events:
        people[start_of(e.timestamp.astimezone(LOCAL).date())].add(actor(e))
    for window in (WHOLE, PART):
        first = _at(window["from"]).astimezone(LOCAL).date()
        last = (_at(window["to"]) - timedelta(microseconds=1)).astimezone(LOCAL).date()
        answer = await traffic.get("active", granularity=granularity, **window)
        expected = [
            {"start": str(start), "actives": len(actors)}
            for start, actors in sorted(people.items())
            if start_of(first) <= start <= last
        ]
        assert answer["points"] == expected
        assert answer["granularity"] == granularity
        assert answer["range"]["timezone"] == ZONE
    assert len(answer["points"]) == {"day": 3, "week": 1, "month": 1}[granularity]


async def test_active_days_are_local_days_around_midnight(traffic: Traffic) -> None:
    # 23:50 and 00:10 in Kolkata are both 1 October in UTC, but two local days.
    assert LATE.date() == EARLY.date() == date(2026, 10, 1)
    by_local: dict[date, set[str]] = defaultdict(set)
    by_utc: dict[date, set[str]] = defaultdict(set)
    for e in traffic.events:
        by_local[e.timestamp.astimezone(LOCAL).date()].add(actor(e))
        by_utc[e.timestamp.date()].add(actor(e))
    assert "edge-late" in by_local[date(2026, 10, 1)]
    assert "edge-early" in by_local[date(2026, 10, 2)]
    window = {"from": "2026-10-01T18:00:00Z", "to": "2026-10-01T19:00:00Z"}
    answer = await traffic.get("active", granularity="day", **window)
    assert answer["points"] == [
        {"start": "2026-10-01", "actives": len(by_local[date(2026, 10, 1)])},
        {"start": "2026-10-02", "actives": len(by_local[date(2026, 10, 2)])},
    ]
    assert len(by_local[date(2026, 10, 2)]) != len(by_utc[date(2026, 10, 2)])


@pytest.mark.parametrize("window", [WHOLE, PART], ids=["whole", "part"])
async def test_bookings_breakdown_by_currency_service_and_location(traffic, window) -> None:
    bookings = [
        e for e in traffic.within(window, 15) if e.event in ("booking_attempt", "booking_completed")
    ]

    def totals(events: Iterable[AnalyticsEvent]) -> dict[str, Any]:
        events = list(events)
        attempts = sum(1 for e in events if e.event == "booking_attempt")
        done = [e for e in events if e.event == "booking_completed"]
        revenue: dict[str, Decimal] = defaultdict(Decimal)
        completions: Counter = Counter()
        for e in done:
            revenue[e.properties["currency"]] += Decimal(str(e.properties["totalPrice"]))
            completions[e.properties["currency"]] += 1
        return {
            "attempts": attempts,
            "completions": len(done),
            "conversionRate": rate(len(done), attempts),
            "revenue": [
                {"currency": c, "revenue": revenue[c], "completions": completions[c]}
                for c in sorted(revenue)
            ],
        }

    def by(key: str, limit: int) -> list[dict[str, Any]]:
        groups: dict[str, list[AnalyticsEvent]] = defaultdict(list)
        for e in bookings:
            groups[str(e.properties.get(key, ""))].append(e)
        rows = [(name, totals(events)) for name, events in groups.items()]
        rows.sort(key=lambda row: (-row[1]["attempts"], -row[1]["completions"], row[0]))
        return [{key: name, **line} for name, line in rows][:limit]

    def parsed(answer: dict[str, Any]) -> dict[str, Any]:
        for line in [answer, *answer["byServiceType"], *answer["byLocation"]]:
            for revenue in line["revenue"]:
                revenue["revenue"] = Decimal(revenue["revenue"])
        return answer

    answer = parsed(await traffic.get("bookings/breakdown", **window))
    assert {k: answer[k] for k in ("attempts", "completions", "conversionRate", "revenue")} == (
        totals(bookings)
    )
    assert answer["byServiceType"] == by("serviceType", 20)
    assert answer["byLocation"] == by("location", 20)
    assert {line["location"] for line in answer["byLocation"]} >= {"", "Berlin"}
    assert len(answer["revenue"]) == 3  # EUR, INR, USD each on its own
    limited = parsed(await traffic.get("bookings/breakdown", limit=2, **window))
    assert limited["byServiceType"] == by("serviceType", 2)
    assert limited["byLocation"] == by("location", 2)


@pytest.mark.parametrize(
    ("window", "granularity"),
    [
        (WHOLE, "day"),
        (PART, "hour"),
        ({"from": "2026-10-02T00:00:00Z", "to": "2026-10-03T06:00:00Z"}, "minute"),
    ],
    ids=["whole-day", "part-hour", "minute"],
)
async def test_chat_counts_chats_messages_and_their_local_series(traffic, window, granularity):
    started = traffic.within(window, 1, "chat_started")
    sent = traffic.within(window, 1, "chat_message_sent")
    chats_in: dict[datetime, set[str]] = defaultdict(set)
    messages_in: Counter = Counter()
    for e in started:
        chats_in[local_bucket(floor(e.timestamp, 1), granularity)].add(e.properties["chatId"])
    for e in sent:
        messages_in[local_bucket(floor(e.timestamp, 1), granularity)] += 1
    chats = len({e.properties["chatId"] for e in started})

    answer = await traffic.get("chat", granularity=granularity, **window)
    assert answer["chats"] == chats > 0
    assert answer["messages"] == len(sent)
    assert answer["messagesPerSession"] == round(len(sent) / chats, 2)
    assert [(_at(p["bucket"]), p["chats"], p["messages"]) for p in answer["series"]] == [
        (bucket, len(chats_in[bucket]), messages_in[bucket])
        for bucket in sorted(set(chats_in) | set(messages_in))
    ]
    assert answer["range"]["granularity"] == granularity


async def test_chat_day_series_puts_23_50_and_00_10_in_their_local_days(traffic) -> None:
    window = {
        "from": datetime(2026, 10, 1, 23, 40, tzinfo=LOCAL).isoformat(),
        "to": datetime(2026, 10, 2, 0, 20, tzinfo=LOCAL).isoformat(),
    }
    answer = await traffic.get("chat", granularity="day", **window)
    assert [(_at(p["bucket"]), p["chats"]) for p in answer["series"]] == [
        (datetime(2026, 10, 1, tzinfo=LOCAL), 1),
        (datetime(2026, 10, 2, tzinfo=LOCAL), 1),
    ]
    errors = await traffic.get("errors", granularity="day", **window)
    assert [(_at(p["bucket"]), p["errors"]) for p in errors["series"]] == [
        (datetime(2026, 10, 1, tzinfo=LOCAL), 1),
        (datetime(2026, 10, 2, tzinfo=LOCAL), 1),
    ]


@pytest.mark.parametrize("window", [WHOLE, PART], ids=["whole", "part"])
async def test_search_terms_zero_results_filters_and_results_distribution(traffic, window):
    searches = traffic.within(window, 60, "search_performed")
    terms: Counter = Counter()
    zero: Counter = Counter()
    filters: Counter = Counter()
    bins: Counter = Counter()
    for e in searches:
        term = str(e.properties["query"]).strip(" ").lower()
        terms[term] += 1
        filters.update(e.properties["filters"])
        count = e.properties.get("resultsCount")
        if count is None:
            continue
        zero[term] += count == 0
        bins[next(b for b, most in zip(RESULT_BINS, BIN_TOPS, strict=True) if count <= most)] += 1

    for limit in (10, 3):
        answer = await traffic.get("search", limit=limit, **window)
        assert answer["searches"] == len(searches)
        assert answer["zeroResultSearches"] == sum(zero.values()) > 0
        assert answer["zeroResultRate"] == rate(sum(zero.values()), len(searches))
        assert answer["terms"] == [
            {"term": term, "searches": n, "zeroResults": zero[term]}
            for term, n in top(terms, limit)
        ]
        assert answer["filters"] == [{"filter": f, "searches": n} for f, n in top(filters, limit)]
        assert answer["results"] == [{"bin": b, "searches": bins[b]} for b in RESULT_BINS]
    assert {"term": "xyzzy", "searches": terms["xyzzy"], "zeroResults": terms["xyzzy"]} in (
        (await traffic.get("search", **window))["terms"]
    )


@pytest.mark.parametrize("window", [WHOLE, PART, SHORT], ids=["whole", "part", "short"])
async def test_pages_views_local_day_visitors_and_load_time_percentiles(traffic, window):
    views = Counter(e.properties["path"] for e in traffic.within(window, 15, "page_view"))
    first = _at(window["from"]).astimezone(LOCAL).date()
    last = (_at(window["to"]) - timedelta(microseconds=1)).astimezone(LOCAL).date()
    visitors: dict[str, set[str]] = defaultdict(set)
    for e in traffic.events:
        if e.event == "page_view" and first <= e.timestamp.astimezone(LOCAL).date() <= last:
            visitors[e.properties["path"]].add(actor(e))
    load: dict[str, list[float]] = defaultdict(list)
    for e in traffic.within(window, histogram_minutes(window), "page_view"):
        if "loadTime" in e.properties:
            load[e.properties["path"]].append(e.properties["loadTime"])

    for limit in (10, 3):
        answer = await traffic.get("pages", limit=limit, **window)
        expected = top(views, limit)
        assert [(p["page"], p["views"]) for p in answer] == expected
        for page in answer:
            assert page["visitors"] == len(visitors[page["page"]]) > 0
            for key, p in (("loadTimeP50", 50), ("loadTimeP95", 95)):
                assert_close(page[key], exact_percentile(load[page["page"]], p), (page, key))


def _rating(metric: str, value: float) -> str:
    good, poor = VITALS[metric]
    return "good" if value <= good else "poor" if value > poor else "needs-improvement"


@pytest.mark.parametrize("window", [WHOLE, PART, SHORT], ids=["whole", "part", "short"])
async def test_performance_vitals_p75_with_ratings_per_page_and_overall(traffic, window):
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for e in traffic.within(window, histogram_minutes(window), "performance"):
        for metric in [*VITALS, "apiResponseTime"]:
            if metric in e.properties:
                samples[str(e.properties.get("path", ""))][metric].append(e.properties[metric])
                samples["*"][metric].append(e.properties[metric])

    def check(line: dict[str, Any], measured: dict[str, list[float]]) -> None:
        for metric in VITALS:
            values = measured[metric]
            vital = line[metric]
            assert vital["samples"] == len(values) > 0
            expected = exact_percentile(values, 75)
            assert_close(vital["p75"], expected, (metric, line.get("page")))
            good, poor = VITALS[metric]
            near = any(abs(expected - edge) <= 0.025 * edge for edge in (good, poor))
            assert vital["rating"] == _rating(metric, vital["p75"])
            if not near:
                assert vital["rating"] == _rating(metric, expected)
        api = line["apiResponseTime"]
        assert api["samples"] == len(measured["apiResponseTime"])
        for key, p in (("p50", 50), ("p95", 95)):
            assert_close(api[key], exact_percentile(measured["apiResponseTime"], p), key)

    totals = Counter(
        {page: sum(map(len, metrics.values())) for page, metrics in samples.items() if page != "*"}
    )
    for limit in (10, 2):
        answer = await traffic.get("performance", limit=limit, **window)
        check(answer["allPages"], samples["*"])
        assert [line["page"] for line in answer["pages"]] == [p for p, _ in top(totals, limit)]
        for line in answer["pages"]:
            check(line, samples[line["page"]])
        if limit == 10:  # every page, including performance events sent without a path
            assert "" in [line["page"] for line in answer["pages"]]
            ratings = {line[m]["rating"] for line in answer["pages"] for m in VITALS}
            assert ratings == {"good", "needs-improvement", "poor"}


@pytest.mark.parametrize(
    ("window", "granularity"),
    [
        (WHOLE, "day"),
        (PART, "hour"),
        ({"from": "2026-10-03T00:00:00Z", "to": "2026-10-04T00:00:00Z"}, "minute"),
    ],
    ids=["whole-day", "part-hour", "minute"],
)
async def test_errors_count_rate_series_and_top_fingerprints(traffic, window, granularity):
    events = traffic.within(window, 1)
    errors_in: Counter = Counter()
    events_in: Counter = Counter()
    for e in events:
        bucket = local_bucket(floor(e.timestamp, 1), granularity)
        events_in[bucket] += 1
        errors_in[bucket] += e.event == "error_occurred"
    hourly = traffic.within(window, 60, "error_occurred")
    groups: dict[str, list[AnalyticsEvent]] = defaultdict(list)
    for e in hourly:
        groups[e.properties["fingerprint"]].append(e)
    kinds = {kind[0]: kind for kind in ERROR_KINDS}

    for limit in (10, 2):
        answer = await traffic.get("errors", granularity=granularity, limit=limit, **window)
        errors = sum(errors_in.values())
        assert answer["errors"] == errors > 0
        assert answer["events"] == len(events)
        assert answer["errorRate"] == rate(errors, len(events))
        assert [
            (_at(p["bucket"]), p["errors"], p["events"], p["errorRate"]) for p in answer["series"]
        ] == [
            (b, errors_in[b], events_in[b], rate(errors_in[b], events_in[b]))
            for b in sorted(events_in)
        ]
        expected = top(Counter({f: len(es) for f, es in groups.items()}), limit)
        assert [
            (g["fingerprint"], g["type"], g["message"], g["topFrame"], g["count"])
            for g in answer["top"]
        ] == [(f, *kinds[f][1:], n) for f, n in expected]
        for group in answer["top"]:
            hours = [floor(e.timestamp, 60) for e in groups[group["fingerprint"]]]
            assert (_at(group["firstSeen"]), _at(group["lastSeen"])) == (min(hours), max(hours))


@pytest.mark.parametrize("window", [WHOLE, PART], ids=["whole", "part"])
async def test_geography_counts_consented_events_by_country_and_city(traffic, window) -> None:
    located = [e for e in traffic.within(window, 60) if "geo" in e.context]
    countries = Counter(e.context["geo"]["country"] for e in located)
    cities = Counter(
        (e.context["geo"]["country"], e.context["geo"]["city"])
        for e in located
        if e.context["geo"].get("city")
    )
    for limit in (20, 3):
        answer = await traffic.get("geography", limit=limit, **window)
        assert answer["events"] == len(located) > 0
        assert answer["countries"] == [
            {"country": c, "events": n, "share": rate(n, len(located))}
            for c, n in top(countries, limit)
        ]
        assert answer["cities"] == [
            {"country": c, "city": city, "events": n} for (c, city), n in top(cities, limit)
        ]


# --- refusals -----------------------------------------------------------------------------

ENDPOINTS = ["active", "bookings/breakdown", "chat", "search", "pages", "performance", "errors"]
ENDPOINTS.append("geography")


@pytest.mark.parametrize("path", ENDPOINTS)
async def test_bad_ranges_are_422_with_the_reason(traffic: Traffic, path: str) -> None:
    async def refused(**params: str) -> Any:
        response = await traffic.http.get(f"/api/v1/analytics/{path}", params=params)
        assert response.status_code == 422, (params, response.text)
        return response.json()["detail"]

    assert await refused(**{"from": WHOLE["to"], "to": WHOLE["from"]}) == "from must be before to"
    assert await refused(**{"from": WHOLE["from"], "to": WHOLE["from"]}) == "from must be before to"
    assert "covers at most" in await refused(
        **{"from": "2016-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    )
    assert (await refused(**{"from": "yesterday"}))[0]["loc"] == ["query", "from"]
    assert "between the years" in str(await refused(**{"to": "0001-01-01T00:00:00+05:00"}))


async def test_bad_granularities_and_limits_are_422(traffic: Traffic) -> None:
    cases = [
        ("active", {"granularity": "hour"}, "granularity"),
        ("chat", {"granularity": "week"}, "granularity"),
        ("errors", {"granularity": "fortnight"}, "granularity"),
        ("search", {"limit": "0"}, "limit"),
        ("performance", {"limit": "101"}, "limit"),
        ("geography", {"limit": "many"}, "limit"),
    ]
    for path, params, field in cases:
        response = await traffic.http.get(f"/api/v1/analytics/{path}", params=params)
        assert response.status_code == 422, (path, params)
        assert response.json()["detail"][0]["loc"] == ["query", field]
    minutes = await traffic.http.get(
        "/api/v1/analytics/chat", params={"granularity": "minute", **WHOLE}
    )
    assert minutes.status_code == 422
    assert minutes.json()["detail"] == "a minute series covers at most 2 days"
    months = await traffic.http.get(
        "/api/v1/analytics/active",
        params={"granularity": "month", "from": "2018-01-01T00:00:00Z", "to": WHOLE["to"]},
    )
    assert months.status_code == 200


async def test_the_metric_endpoints_need_a_reader_key(traffic: Traffic) -> None:
    for path in ["realtime", *ENDPOINTS]:
        response = await traffic.http.get(
            f"/api/v1/analytics/{path}", headers={"Authorization": ""}
        )
        assert response.status_code == 401, path
