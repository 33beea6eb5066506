"""Simulated marketplace traffic for `lookout up --demo`.

Visitors arrive on one of several browsers and devices, browse, search therapists
with filters (some searches find nothing), some sign up or log in (and are
identified with the anonymous id they browsed under), see the booking button of
the "booking-cta" experiment, attempt and complete bookings, chat with therapists,
and now and then hit an error. Pages report their load time and Web Vitals; a few
pages are slow. Some visitors allow geolocation and their front end sends where
they are.

Each visitor is a small journey whose events are minutes apart and end now; they
go to ingest's `/v1/batch` with the write key, exactly as a real front end would
send them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

log = logging.getLogger("lookout.demo")

# City, country, currency, locale.
CITIES = [
    ("Berlin", "DE", "EUR", "de-DE"),
    ("Lisbon", "PT", "EUR", "pt-PT"),
    ("London", "GB", "GBP", "en-GB"),
    ("Austin", "US", "USD", "en-US"),
    ("Toronto", "CA", "CAD", "en-CA"),
    ("Bangkok", "TH", "THB", "th-TH"),
]
SERVICES = {
    "swedish": 60,
    "deep_tissue": 75,
    "thai": 90,
    "sports": 60,
    "hot_stone": 90,
    "prenatal": 60,
}
PRICE_PER_HOUR = {"EUR": 70, "GBP": 65, "USD": 85, "CAD": 95, "THB": 1200}
PAGES = ["/", "/therapists", "/how-it-works", "/pricing", "/gift-cards", "/help"]
TITLES = {
    "/": "Lookout Massage",
    "/therapists": "Therapists near you",
    "/how-it-works": "How it works",
    "/pricing": "Pricing",
    "/gift-cards": "Gift cards",
    "/help": "Help",
    "/checkout/confirmation": "Booking confirmed",
}
# How much slower than the site's usual page each page is: the therapist list draws a
# map, the confirmation waits for the payment provider.
SLOWNESS = {"/therapists": 2.4, "/checkout/confirmation": 1.9, "/gift-cards": 1.3}
PROFILE_SLOWNESS = 1.15

# Terms people type, the share of searches each gets, and how often it finds nothing
# (misspellings never do; "couples" rooms are rare).
SEARCH_TERMS = {
    "massage": (30, 0.02),
    "deep tissue": (18, 0.04),
    "thai massage": (14, 0.05),
    "sports massage": (10, 0.08),
    "couples": (8, 0.55),
    "prenatal": (6, 0.2),
    "hot stone": (6, 0.1),
    "deep tisue": (4, 1.0),
    "shiatzu": (4, 1.0),
}
EXTRA_FILTERS = {
    "serviceType": list(SERVICES),
    "availability": ["today", "tomorrow", "this_week"],
    "priceMax": [60, 80, 100, 150],
    "therapistGender": ["female", "male"],
}

# A bundle hash per deploy: the errors' stacks change with it, their fingerprints do not.
BUNDLES = ["main.3f9a1c2b", "main.8d04e7aa"]
ERRORS = [
    (
        "TypeError",
        "Cannot read properties of undefined (reading 'slots')",
        ["Calendar.render", "renderWithHooks", "commitRoot"],
    ),
    (
        "NetworkError",
        "Failed to fetch /api/availability?therapist={therapist}",
        ["fetchAvailability", "async loadSlots"],
    ),
    ("PaymentError", "Card declined (code 51)", ["Checkout.submit", "HTMLFormElement.onsubmit"]),
]

EXPERIMENT = "booking-cta"
# The green booking button converts better than the control: the demo's A/B result.
BOOKING_RATE = {"control": 0.30, "green": 0.42}

# Browsers and devices, with roughly how common each is.
USER_AGENTS = [
    (
        28,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36",
    ),
    (
        20,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
    (
        18,
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.6478.71 Mobile Safari/537.36",
    ),
    (
        12,
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    ),
    (
        8,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87",
    ),
    (6, "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"),
    (
        5,
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 "
        "(KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    ),
    (
        3,
        "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    ),
]
GEO_CONSENT_SHARE = 0.7


def _user_agent() -> str:
    weights, agents = zip(*USER_AGENTS, strict=True)
    return random.choices(agents, weights=weights)[0]


@dataclass
class Visitor:
    anonymous_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    user_id: str | None = None
    city: tuple[str, str, str, str] = field(default_factory=lambda: random.choice(CITIES))
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    user_agent: str = field(default_factory=_user_agent)
    geo_consent: bool = field(default_factory=lambda: random.random() < GEO_CONSENT_SHARE)
    # The visit's own clock, from its first event; `visit` moves it so that it ends now.
    clock: datetime = field(default_factory=lambda: datetime.now(UTC))

    def wait(self, shortest: float, longest: float) -> None:
        """The visitor reads, types or waits for `shortest`..`longest` seconds."""
        self.clock += timedelta(seconds=random.uniform(shortest, longest))


def variant_of(person: str) -> str:
    """The experiment's variant for a person: stable, half and half."""
    return "green" if hashlib.sha256(person.encode()).digest()[0] % 2 else "control"


def _message(visitor: Visitor, kind: str, **fields: object) -> dict:
    city, country, _currency, locale = visitor.city
    context: dict[str, object] = {
        "sessionId": visitor.session_id,
        "locale": locale,
        "userAgent": visitor.user_agent,
        "consent": {"analytics": True, "geo": visitor.geo_consent},
    }
    if visitor.geo_consent:
        context["location"] = {"city": city, "country": country}
    message = {
        "type": kind,
        "messageId": uuid.uuid4().hex,
        "anonymousId": visitor.anonymous_id,
        "timestamp": visitor.clock,
        "context": context,
        **fields,
    }
    if visitor.user_id:
        message["userId"] = visitor.user_id
    return message


def _track(visitor: Visitor, event: str, properties: dict) -> dict:
    return _message(visitor, "track", event=event, properties=properties)


def _slowness(path: str) -> float:
    if path.startswith("/therapists/"):
        return PROFILE_SLOWNESS
    return SLOWNESS.get(path, 1.0)


def _page(visitor: Visitor, path: str, title: str) -> Iterator[dict]:
    """A page view with its load time, then (most of the time) its Web Vitals."""
    slow = _slowness(path)
    properties = {
        "path": path,
        "title": title,
        "loadTime": round(random.lognormvariate(6.3, 0.4) * slow),
    }
    yield _message(visitor, "page", name=title, properties=properties)
    visitor.wait(2, 20)
    if random.random() < 0.75:
        vitals = {
            "path": path,
            "lcp": round(random.lognormvariate(7.4, 0.35) * slow),
            "fcp": round(random.lognormvariate(7.0, 0.3) * slow),
            "ttfb": round(random.lognormvariate(5.9, 0.4) * slow),
            "inp": round(random.lognormvariate(4.7, 0.5) * slow),
            "cls": round(random.lognormvariate(-3.2, 0.8) * slow, 3),
            "apiResponseTime": round(random.lognormvariate(5.1, 0.45) * slow),
        }
        yield _track(visitor, "performance", vitals)


def _search(visitor: Visitor) -> tuple[dict, int]:
    """One search in the visitor's city, maybe with more filters, and its results count."""
    names = list(SEARCH_TERMS)
    term = random.choices(names, weights=[SEARCH_TERMS[name][0] for name in names])[0]
    filters: dict[str, object] = {"city": visitor.city[0]}
    for key in random.sample(list(EXTRA_FILTERS), random.choice([0, 0, 1, 1, 2])):
        filters[key] = random.choice(EXTRA_FILTERS[key])
    found = random.random() >= SEARCH_TERMS[term][1]
    results = max(1, round(random.lognormvariate(2.4, 1.0) / len(filters))) if found else 0
    search = _track(
        visitor, "search_performed", {"query": term, "filters": filters, "resultsCount": results}
    )
    visitor.wait(3, 25)
    return search, results


def _error(visitor: Visitor, therapist: str) -> dict:
    error_type, template, functions = random.choice(ERRORS)
    message = template.format(therapist=therapist)
    bundle = random.choice(BUNDLES)
    frames = "\n".join(
        f"    at {function} (https://app.lookout.example/static/js/{bundle}.js:"
        f"{random.randint(1, 4)}:{random.randint(1000, 90000)})"
        for function in functions
    )
    return _track(
        visitor,
        "error_occurred",
        {"message": message, "type": error_type, "stack": f"{error_type}: {message}\n{frames}"},
    )


def journey(visitor: Visitor) -> Iterator[dict]:
    """One visit, as the sequence of events a real front end would send (timestamps are
    datetimes on the visitor's clock; `visit` makes them ISO strings that end now)."""
    city, _country, currency, _locale = visitor.city
    landing = random.choice(PAGES)
    yield from _page(visitor, landing, TITLES[landing])
    if random.random() < 0.15:
        visitor.user_id = f"user-{uuid.uuid4().hex[:10]}"
        method = random.choice(["email", "google", "apple"])
        yield _track(visitor, "user_registered", {"userType": "customer", "method": method})
        yield _message(visitor, "identify", traits={"city": city, "plan": "free"})
        visitor.wait(2, 10)
    elif random.random() < 0.3:
        success = random.random() > 0.1
        login = {"success": success, "method": "password"}
        if not success:
            login["failureReason"] = "wrong_password"
        yield _track(visitor, "login_attempt", login)
        if success:
            # From here on the visitor's events carry the user id as well as the anonymous
            # id they browsed under; `identify` links the two.
            visitor.user_id = f"user-{random.randint(1, 400)}"
            yield _message(visitor, "identify", traits={"city": city})
        visitor.wait(2, 10)
    search, results = _search(visitor)
    yield search
    if results == 0:
        if random.random() < 0.5:
            return
        search, results = _search(visitor)
        yield search
        if results == 0:
            return
    therapist = f"therapist-{random.randint(1, 60)}"
    yield from _page(visitor, f"/therapists/{therapist}", "Therapist profile")
    variant = variant_of(visitor.user_id or visitor.anonymous_id)
    yield _track(visitor, "experiment_exposure", {"experiment": EXPERIMENT, "variant": variant})
    if random.random() < 0.25:
        chat_id = uuid.uuid4().hex[:12]
        yield _track(visitor, "chat_started", {"chatId": chat_id, "participantType": "customer"})
        for _ in range(random.randint(1, 5)):
            visitor.wait(5, 60)
            length = random.randint(5, 240)
            yield _track(
                visitor,
                "chat_message_sent",
                {"chatId": chat_id, "participantType": "customer", "messageLength": length},
            )
    if random.random() < 0.06:
        yield _error(visitor, therapist)
    visitor.wait(10, 90)
    if random.random() < BOOKING_RATE[variant]:
        service, minutes = random.choice(list(SERVICES.items()))
        price = round(PRICE_PER_HOUR[currency] * minutes / 60, 2)
        booking = {
            "therapistId": therapist,
            "serviceType": service,
            "duration": minutes,
            "totalPrice": price,
            "currency": currency,
            "location": city,
            "paymentMethod": random.choice(["card", "paypal", "apple_pay"]),
        }
        yield _track(visitor, "booking_attempt", booking)
        visitor.wait(15, 120)
        if random.random() < 0.6:
            yield from _page(visitor, "/checkout/confirmation", TITLES["/checkout/confirmation"])
            yield _track(visitor, "booking_completed", booking)


def visit(visitor: Visitor) -> list[dict]:
    """A whole visit's events, their timestamps moved so that the last one is now."""
    events = list(journey(visitor))
    shift = datetime.now(UTC) - max(event["timestamp"] for event in events)
    for event in events:
        event["timestamp"] = (event["timestamp"] + shift).isoformat()
    return events


async def drive(ingest_url: str, write_key: str, stop: threading.Event, rate: float = 4.0) -> int:
    """Post about `rate` visits per second as batches until `stop` is set; returns events sent."""
    sent = 0
    async with httpx.AsyncClient(base_url=ingest_url, auth=(write_key, ""), timeout=10) as client:
        while not stop.is_set():
            batch = [event for _ in range(max(1, int(rate))) for event in visit(Visitor())]
            try:
                response = await client.post("/v1/batch", json={"batch": batch})
                if response.status_code == 200:
                    sent += len(batch)
                else:
                    log.warning("demo batch refused", extra={"status": response.status_code})
            except httpx.HTTPError as error:
                log.warning("demo batch failed", extra={"error": str(error)})
            await asyncio.sleep(random.uniform(0.5, 1.5))
    return sent


def run_demo_in_thread(ingest_url: str, write_key: str, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(
        target=lambda: asyncio.run(drive(ingest_url, write_key, stop)), name="demo", daemon=True
    )
    thread.start()
    return thread
