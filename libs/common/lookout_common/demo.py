"""Simulated marketplace traffic for `lookout up --demo`.

Visitors arrive, browse, search therapists in several cities, some sign up or
log in, attempt and complete bookings, chat with therapists, and now and then
hit an error. Each visitor is a small journey; events go to ingest's
`/v1/batch` with the write key, exactly as a real front end would send them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

log = logging.getLogger("lookout.demo")

CITIES = [
    ("Berlin", "DE", "EUR"),
    ("Lisbon", "PT", "EUR"),
    ("London", "GB", "GBP"),
    ("Austin", "US", "USD"),
    ("Toronto", "CA", "CAD"),
    ("Bangkok", "TH", "THB"),
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
SEARCH_TERMS = ["massage", "deep tissue", "thai massage", "sports massage", "couples", "prenatal"]
ERRORS = [
    ("TypeError", "Cannot read properties of undefined (reading 'slots')", "at Calendar.render"),
    ("NetworkError", "Failed to fetch /api/availability", "at fetchAvailability"),
    ("PaymentError", "Card declined", "at checkout.submit"),
]


@dataclass
class Visitor:
    anonymous_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    user_id: str | None = None
    city: tuple[str, str, str] = field(default_factory=lambda: random.choice(CITIES))
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])


def _message(visitor: Visitor, kind: str, **fields: object) -> dict:
    now = datetime.now(UTC).isoformat()
    message = {
        "type": kind,
        "messageId": uuid.uuid4().hex,
        "anonymousId": visitor.anonymous_id,
        "timestamp": now,
        "context": {
            "sessionId": visitor.session_id,
            "locale": "en-US",
            "location": {"city": visitor.city[0], "country": visitor.city[1]},
            "consent": {"analytics": True, "geo": True},
        },
        **fields,
    }
    if visitor.user_id:
        message["userId"] = visitor.user_id
    return message


def _track(visitor: Visitor, event: str, properties: dict) -> dict:
    return _message(visitor, "track", event=event, properties=properties)


def _page(visitor: Visitor, path: str, title: str) -> dict:
    properties = {"path": path, "title": title, "loadTime": round(random.lognormvariate(6.3, 0.4))}
    return _message(visitor, "page", name=title, properties=properties)


def journey(visitor: Visitor) -> Iterator[dict]:
    """One visit, as the sequence of events a real front end would send."""
    city, _country, currency = visitor.city
    yield _page(visitor, random.choice(PAGES), "Lookout Massage")
    if random.random() < 0.15:
        visitor.user_id = f"user-{uuid.uuid4().hex[:10]}"
        method = random.choice(["email", "google", "apple"])
        yield _track(visitor, "user_registered", {"userType": "customer", "method": method})
        yield _message(visitor, "identify", traits={"city": city, "plan": "free"})
    elif random.random() < 0.3:
        visitor.user_id = f"user-{random.randint(1, 400)}"
        success = random.random() > 0.1
        login = {"success": success, "method": "password"}
        if not success:
            login["failureReason"] = "wrong_password"
        yield _track(visitor, "login_attempt", login)
        if success:
            yield _message(visitor, "identify", traits={"city": city})
    term = random.choice(SEARCH_TERMS)
    results = random.choice([0, 3, 8, 12, 25])
    yield _track(
        visitor,
        "search_performed",
        {"query": f"{term} {city}", "filters": {"city": city}, "resultsCount": results},
    )
    if results == 0:
        return
    therapist = f"therapist-{random.randint(1, 60)}"
    yield _page(visitor, f"/therapists/{therapist}", "Therapist profile")
    if random.random() < 0.25:
        chat_id = uuid.uuid4().hex[:12]
        yield _track(visitor, "chat_started", {"chatId": chat_id, "participantType": "customer"})
        for _ in range(random.randint(1, 5)):
            length = random.randint(5, 240)
            yield _track(
                visitor,
                "chat_message_sent",
                {"chatId": chat_id, "participantType": "customer", "messageLength": length},
            )
    if random.random() < 0.04:
        error_type, message, frame = random.choice(ERRORS)
        yield _track(
            visitor,
            "error_occurred",
            {
                "message": message,
                "type": error_type,
                "stack": f"{error_type}: {message}\n  {frame}",
            },
        )
    if random.random() < 0.35:
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
        if random.random() < 0.6:
            yield _page(visitor, "/checkout/confirmation", "Booking confirmed")
            yield _track(visitor, "booking_completed", booking)


async def drive(ingest_url: str, write_key: str, stop: threading.Event, rate: float = 4.0) -> int:
    """Post about `rate` visits per second as batches until `stop` is set; returns events sent."""
    sent = 0
    async with httpx.AsyncClient(base_url=ingest_url, auth=(write_key, ""), timeout=10) as client:
        while not stop.is_set():
            batch = [event for _ in range(max(1, int(rate))) for event in journey(Visitor())]
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
