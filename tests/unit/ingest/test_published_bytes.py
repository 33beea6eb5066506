"""The records ingest puts on the events topic, byte for byte, for a varied sample of
requests: consent refused or given, geo policy, scrubbing, every derived field, clock
skew, floats, large integers and non-ASCII text, in batches and single calls.

`published_bytes.jsonl` holds what the code of 0ba5e31 published for this sample (each
event validated twice, copied in screening, encoded by pydantic). The cheaper path that
replaced it must publish the same bytes, the same keys and the same headers, so the
aggregator and every other consumer read exactly what they read before."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.geoip import city_record, write_mmdb

from lookout_common.contracts.events import AnalyticsEvent
from lookout_common.infra.apikeys import ApiKey, Role
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.acceptance import Ingest, IngestRequest, Verdict
from lookout_ingest.publisher import EventPublisher
from lookout_ingest.screening import Origin

EXPECTED = Path(__file__).with_name("published_bytes.jsonl")
RECEIVED_AT = datetime(2026, 11, 25, 12, 0, 0, 123456, tzinfo=UTC)
AUTHORIZATION = "Basic " + base64.b64encode(b"lk_web:").decode()
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
GEO = {"consent": {"geo": True}}
STACK = "TypeError: x is undefined\n    at render (https://app.example/app.js:10:5)"
NUMBERS: dict[str, Any] = {
    "floats": [0.1, 1.5e-7, 1e16, 1e22, 123456789.125, -0.0, 3.0, 2.5e300],
    "ints": [0, -1, 2**53 + 1, 2**63 - 1, -(2**63)],
}
TEXT = {
    "emoji": "🧘 massage",
    "cjk": "タイ古式",
    "controls": 'a"b\\c\u0001\n\t\u2028',
    "nul": "\u0000",
}


def message(kind: str, number: int, **fields: Any) -> dict[str, Any]:
    """A message of `kind` with a fixed id, by visitor anon-<number>."""
    return {"type": kind, "messageId": f"m-{number}", "anonymousId": f"anon-{number}", **fields}


def sample() -> Iterator[tuple[str | None, dict[str, Any], Origin]]:
    """(endpoint kind or None for a batch, body, origin) of each request."""
    origin = Origin(ip="81.2.69.142", user_agent=CHROME)
    batch = [
        message(
            "page", 1, name="Home", properties={"title": "Höme"}, context={"page": {"path": "/"}}
        ),
        message(
            "track",
            2,
            event="booking_completed",
            properties={"therapistId": "t-1", "serviceType": "thai", "totalPrice": 150000},
        ),
        message(
            "track",
            3,
            event="booking_attempt",
            properties={
                "therapistId": "t-2",
                "serviceType": "bali",
                "totalPrice": 75.5,
                "currency": "EUR",
                "duration": 90,
            },
        ),
        message(
            "track",
            4,
            event="search_performed",
            properties={
                "query": "  Deep-Tissue  MASSAGE, Berlin!! ",
                "resultsCount": 12,
                "filters": {"maxPrice": 90.0, "city": "Berlin"},
            },
        ),
        message(
            "track",
            5,
            event="error_occurred",
            properties={"message": "x is undefined at 0x7ff3", "type": "TypeError", "stack": STACK},
        ),
        message("track", 6, event="gift_card_viewed", properties={**NUMBERS, **TEXT}),
        message(
            "track",
            7,
            event="chat_message_sent",
            properties={"chatId": "c-1", "messageLength": 42, "hasAttachment": False},
            context={"consent": {"analytics": False}},
        ),
        message(
            "track",
            8,
            event="login_attempt",
            properties={
                "success": False,
                "method": "password",
                "password": "hunter2",
                "note": "mail me at ada@example.com or +49 30 1234567",
            },
            traits={"email": "ada@example.com"},
        ),
        message(
            "identify",
            9,
            userId="u-9",
            traits={"plan": "pro", "geoLocation": [52.5, 13.4], "card": "4111 1111 1111 1111"},
        ),
        message(
            "track",
            10,
            event="performance",
            properties={"path": "/book", "lcp": 2310, "cls": 0.04, "inp": 120},
            context={**GEO, "ip": "2001:db8:aa:bb::1", "userAgent": IPHONE},
        ),
        message(
            "track",
            11,
            event="chat_started",
            properties={"chatId": "c-2"},
            context={
                "consent": {"categoryPreferences": {"Geo": True}},
                "location": {"country": "id", "city": "Ubud"},
                "locale": "id-ID",
            },
        ),
        message(
            "track",
            12,
            event="notification_sent",
            properties={"channel": "email", "kind": "reminder", "latitude": 1.5},
            context={"ip": "81.2.69.1", "geo": {"country": "FR"}, "location": {"city": "x"}},
        ),
        message(
            "track",
            13,
            event="experiment_exposure",
            properties={"experiment": "cta", "variant": "green"},
            timestamp="2026-11-25T16:00:00+05:00",
            sentAt="2026-11-25T16:00:03+05:00",
        ),
        message(
            "track",
            14,
            event="user_registered",
            properties={"userType": "customer"},
            timestamp="2026-11-24T08:30:00",
            sentAt="0001-01-01T00:30:00+01:00",
        ),
        message("track", 15, event="x_event", context={"userAgent": "Googlebot/2.1"}),
        message(
            "track",
            2,
            event="booking_completed",
            properties={"therapistId": "t-1", "serviceType": "thai", "totalPrice": 1},
        ),
        message(
            "track",
            16,
            event="gift_card_viewed",
            properties={"nested": [[{"a": [1.25]}]]},
            timestamp="2027-01-01T00:00:00Z",
        ),
    ]
    shared = {"context": {**GEO, "locale": "de-DE", "userAgent": CHROME}, "sentAt": None}
    yield None, {"batch": batch, **shared}, origin
    yield None, {"batch": [message("track", 20, event="x_event", properties={"v": 1})]}, Origin()
    yield (
        "track",
        message("track", 30, event="chat_started", properties={"chatId": "c-3"}, userId="u-30"),
        origin,
    )
    yield (
        "page",
        message(
            "page",
            31,
            properties={"path": "/therapists", "referrer": "https://g.co"},
            context={**GEO, "ip": "81.2.69.77"},
        ),
        Origin(ip="10.1.2.3"),
    )
    yield "identify", message("identify", 32, userId="u-32", traits={"ssn": "123-45-6789"}), origin


class Keys:
    async def lookup(self, key: str) -> ApiKey | None:
        return ApiKey(id=1, name="web", role=Role.INGEST) if key == "lk_web" else None


class RecordingProducer:
    """aiokafka's producer as the publisher uses it: each record kept, acknowledged at once."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    async def send(
        self, topic: str, *, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[None]:
        self.records.append(
            {
                "topic": topic,
                "key": None if key is None else key.decode(),
                "value": value.decode(),
                "headers": [[name, header.decode()] for name, header in headers],
            }
        )
        acknowledged = asyncio.get_running_loop().create_future()
        acknowledged.set_result(None)
        return acknowledged


class KeepingPublisher(EventPublisher):
    """The real publisher (it encodes), keeping the events it was handed."""

    def __init__(self, producer: RecordingProducer, settings: IngestSettings) -> None:
        super().__init__(producer, settings)  # type: ignore[arg-type]  # a stand-in producer
        self.events: list[AnalyticsEvent] = []

    async def publish(self, events: Sequence[AnalyticsEvent]) -> None:
        self.events.extend(events)
        await super().publish(events)


async def published(geoip_database: Path) -> tuple[list[dict[str, Any]], list[AnalyticsEvent]]:
    """Every record ingest sends to the events topic for `sample()`, in order, and the
    events it made them of."""
    settings = IngestSettings(
        geoip_database=geoip_database, topic_prefix="", key_rate_per_s=0, ip_rate_per_s=0
    )
    producer = RecordingProducer()
    publisher = KeepingPublisher(producer, settings)
    ingest = Ingest(settings, Keys(), publisher)
    try:
        for number, (kind, body, origin) in enumerate(sample()):
            request = IngestRequest(
                kind=kind,
                body=json.dumps(body, ensure_ascii=number % 2 == 0).encode(),
                received_at=RECEIVED_AT,
                request_id=f"req-{number}",
                origin=origin,
                authorization=AUTHORIZATION,
            )
            assert (await ingest.accept(request)).verdict is Verdict.STORED
    finally:
        ingest.close()
    records = [record for record in producer.records if record["topic"] == "analytics.events.v1"]
    return records, publisher.events


@pytest.fixture(scope="module")
def city_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mmdb(
        tmp_path_factory.mktemp("geoip") / "city.mmdb",
        {"81.2.69.0/24": city_record("GB", "London"), "2001:db8::/32": city_record("DE", "Berlin")},
    )


async def test_published_records_are_the_bytes_of_the_validated_path(city_db: Path) -> None:
    expected = [json.loads(line) for line in EXPECTED.read_text().splitlines()]
    records, _ = await published(city_db)
    assert records == expected


async def test_each_event_is_what_validating_its_fields_makes(city_db: Path) -> None:
    _, events = await published(city_db)
    assert len(events) == 18
    for event in events:
        validated = AnalyticsEvent.model_validate(event.__dict__)
        assert list(event.__dict__) == list(AnalyticsEvent.model_fields)
        assert event.__getstate__() == validated.__getstate__()
        assert event.model_copy(update={"traits": {"a": 1}}).traits == {"a": 1}
