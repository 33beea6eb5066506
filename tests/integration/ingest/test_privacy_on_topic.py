"""Privacy and abuse rules of a real ingest process, read back from the real topic:
consent, truncated IPs, no location without geo consent, scrubbed personal data,
resends published once, rate limits and bots."""

from __future__ import annotations

import uuid

import pytest
from support.kafka import read_topic
from support.messages import track

from lookout_common.contracts.topics import Topic

pytestmark = pytest.mark.integration

BOOKING = {"therapistId": "t-1", "serviceType": "thai", "totalPrice": 80, "currency": "EUR"}
GEO = {"consent": {"analytics": True, "geo": True}}


async def test_unconsented_event_is_acknowledged_but_only_counted(ingest) -> None:
    refused = track("booking_completed", BOOKING, context={"consent": {"analytics": False}})
    consented = track("search_performed", {"query": "thai"})
    response = await ingest.post("/v1/batch", {"batch": [refused, consented]})
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}

    single = track("chat_started", {"chatId": "c-1"}, context={"consent": {"analytics": False}})
    assert (await ingest.post("/v1/track", single)).status_code == 200

    records = await ingest.published(expect=1)
    assert list(records) == [consented["messageId"]]
    text = await ingest.metrics()
    assert 'lookout_ingest_unconsented_events_total{event="booking_completed"} 1.0' in text
    assert 'lookout_ingest_unconsented_events_total{event="chat_started"} 1.0' in text
    assert refused["messageId"] not in text  # only counts, no ids


async def test_ip_from_trusted_forwarded_for_reaches_kafka_truncated(ingest_with) -> None:
    ingest = await ingest_with(LOOKOUT_TRUST_FORWARDED_FOR="true")
    from_proxy = track(context=GEO)
    sent_v6 = track(context={**GEO, "ip": "2001:db8:abcd:12:34::1"})
    sent_v4 = track(context={**GEO, "ip": "203.0.113.77"})
    response = await ingest.post(
        "/v1/batch",
        {"batch": [from_proxy, sent_v6, sent_v4]},
        headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.77"},
    )
    assert response.status_code == 200, response.text

    records = await ingest.published(expect=3)
    assert records[from_proxy["messageId"]]["context"]["ip"] == "198.51.100.0"
    assert records[sent_v6["messageId"]]["context"]["ip"] == "2001:db8:abcd::"
    assert records[sent_v4["messageId"]]["context"]["ip"] == "203.0.113.0"


async def test_forwarded_for_is_ignored_unless_trusted(ingest) -> None:
    event = track(context=GEO)
    response = await ingest.post("/v1/track", event, headers={"X-Forwarded-For": "198.51.100.77"})
    assert response.status_code == 200, response.text
    records = await ingest.published(expect=1)
    assert records[event["messageId"]]["context"]["ip"] == "127.0.0.0"


async def test_without_geo_consent_no_ip_and_no_location_reach_kafka(ingest) -> None:
    located = {
        "ip": "203.0.113.77",
        "location": {"city": "Berlin", "country": "DE"},
        "locale": "de-DE",
    }
    no_geo = track(
        "booking_attempt",
        {**BOOKING, "location": "Berlin", "latitude": 52.52, "longitude": 13.4},
        context=located,
    )
    with_geo = track(
        "booking_attempt", {**BOOKING, "location": "Berlin"}, context={**located, **GEO}
    )
    response = await ingest.post("/v1/batch", {"batch": [no_geo, with_geo]})
    assert response.status_code == 200, response.text

    records = await ingest.published(expect=2)
    stored = records[no_geo["messageId"]]
    assert stored["context"] == {"locale": "de-DE"}
    assert stored["properties"] == BOOKING
    kept = records[with_geo["messageId"]]
    assert kept["context"]["ip"] == "203.0.113.0"
    assert kept["context"]["location"] == {"city": "Berlin", "country": "DE"}
    assert kept["properties"]["location"] == "Berlin"


async def test_personal_data_is_replaced_before_kafka(ingest) -> None:
    event = track(
        "search_performed",
        {
            "query": "massage for anna.k@example.com",
            "filters": {"notes": ["call me +49 30 1234 5678", "card 4111 1111 1111 1111"]},
            "bookingDate": "2026-11-25",
            "password": "hunter2",
        },
        context={"page": {"url": "https://massage.example/?ref=bob@example.org"}},
    )
    identify = {
        "type": "identify",
        "messageId": uuid.uuid4().hex,
        "userId": "user-9",
        "traits": {"email": "anna.k@example.com", "plan": "free", "Card-Number": "4111"},
    }
    assert (await ingest.post("/v1/track", event)).status_code == 200
    assert (await ingest.post("/v1/identify", identify)).status_code == 200

    records = await ingest.published(expect=2)
    properties = records[event["messageId"]]["properties"]
    assert properties == {
        "query": "massage for [redacted:email]",
        # Ingest's normalised search term is derived from the scrubbed query.
        "queryNormalized": "massage for [redacted:email]",
        "filters": {"notes": ["call me [redacted:phone]", "card [redacted:card]"]},
        "bookingDate": "2026-11-25",
        "password": "[redacted]",
    }
    page = records[event["messageId"]]["context"]["page"]
    assert page == {"url": "https://massage.example/?ref=[redacted:email]"}
    traits = records[identify["messageId"]]["traits"]
    assert traits == {"email": "[redacted]", "plan": "free", "Card-Number": "[redacted]"}
    assert records[identify["messageId"]]["user_id"] == "user-9"
    text = await ingest.metrics()
    assert 'lookout_ingest_redactions_total{kind="email"} 2.0' in text
    assert 'lookout_ingest_redactions_total{kind="key"} 3.0' in text


async def test_rejected_event_reaches_the_dead_letter_topic_scrubbed(ingest) -> None:
    bad = track(
        "booking_completed",
        {"therapistId": "t-1", "note": "anna@example.com"},
        context={"ip": "203.0.113.77"},
    )
    response = await ingest.post("/v1/track", bad)
    assert response.status_code == 400
    letters = await read_topic(
        ingest.settings.kafka_bootstrap, ingest.topic(Topic.EVENTS_DLQ), expect=1
    )
    assert letters[0]["payload"]["properties"]["note"] == "[redacted:email]"
    assert letters[0]["payload"]["context"] == {}


async def test_resent_message_id_is_acknowledged_and_published_once(ingest) -> None:
    first = track("search_performed", {"query": "thai"})
    other = track("search_performed", {"query": "shiatsu"})
    for body in ({"batch": [first, first]}, {"batch": [first, other]}):
        response = await ingest.post("/v1/batch", body)
        assert response.status_code == 200, response.text
    assert (await ingest.post("/v1/track", first)).status_code == 200

    records = await read_topic(
        ingest.settings.kafka_bootstrap, ingest.topic(Topic.EVENTS), expect=2, settle=1.0
    )
    assert sorted(r["event_id"] for r in records) == sorted(
        [first["messageId"], other["messageId"]]
    )
    assert "lookout_ingest_duplicate_events_total 3.0" in await ingest.metrics()


async def test_write_key_over_its_event_rate_gets_429_and_nothing_is_stored(ingest_with) -> None:
    ingest = await ingest_with(LOOKOUT_KEY_RATE_PER_S="0.1", LOOKOUT_KEY_BURST="3")
    allowed = [track() for _ in range(3)]
    assert (await ingest.post("/v1/batch", {"batch": allowed})).status_code == 200

    refused = [track() for _ in range(2)]
    response = await ingest.post("/v1/batch", {"batch": refused})
    assert response.status_code == 429
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 20  # the batch needs two tokens, one comes every 10 s
    body = response.json()
    assert body["success"] is False
    assert body["accepted"] == 0
    assert body["errors"][0]["field"] == ""
    assert "write key" in body["errors"][0]["reason"]

    records = await ingest.published(expect=3)
    assert sorted(records) == sorted(event["messageId"] for event in allowed)
    assert 'lookout_ingest_rate_limited_requests_total{limit="write_key"} 1.0' in (
        await ingest.metrics()
    )


async def test_client_ip_over_its_request_rate_gets_429(ingest_with) -> None:
    ingest = await ingest_with(LOOKOUT_IP_RATE_PER_S="0.05", LOOKOUT_IP_BURST="2")
    allowed = [track(), track()]
    for event in allowed:
        assert (await ingest.post("/v1/track", event)).status_code == 200
    refused = track()
    response = await ingest.post("/v1/track", refused)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert "client IP" in response.json()["errors"][0]["reason"]

    records = await ingest.published(expect=2)
    assert sorted(records) == sorted(event["messageId"] for event in allowed)
    assert 'lookout_ingest_rate_limited_requests_total{limit="ip"} 1.0' in (await ingest.metrics())


async def test_bot_events_are_acknowledged_but_not_published(ingest) -> None:
    by_context = track(context={"userAgent": "Mozilla/5.0 (compatible; Googlebot/2.1)"})
    person = track(context={"userAgent": "Mozilla/5.0 HeadlessChrome/120.0.6099.28"})
    response = await ingest.post("/v1/batch", {"batch": [by_context, person]})
    assert response.status_code == 200, response.text
    by_header = track()
    response = await ingest.post("/v1/track", by_header, headers={"User-Agent": "AhrefsBot/7.0"})
    assert response.status_code == 200, response.text

    records = await ingest.published(expect=1)
    assert list(records) == [person["messageId"]]
    assert "lookout_ingest_bot_events_total 2.0" in await ingest.metrics()
