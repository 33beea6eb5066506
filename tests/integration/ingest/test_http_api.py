"""Ingest over real HTTP, publishing to a real broker: what reached Kafka, write keys
checked in Postgres, and the answers that depend on the real server. The rest of the
HTTP contract (each 400, 401, 413, 415, 429 and 503) runs in-process in
tests/unit/ingest/test_http_contract.py."""

from __future__ import annotations

import gzip
import json
import uuid

import httpx
import pytest
from support.kafka import read_topic

from lookout_common.contracts.topics import Topic

pytestmark = pytest.mark.integration

BOOKING = {"therapistId": "t-1", "serviceType": "thai", "totalPrice": 80, "currency": "EUR"}


def track(event: str, properties: dict, **extra) -> dict:
    return {
        "type": "track",
        "messageId": uuid.uuid4().hex,
        "anonymousId": "anon-1",
        "event": event,
        "properties": properties,
        **extra,
    }


async def post(ingest, path: str, body=None, *, auth=True, **kwargs) -> httpx.Response:
    async with httpx.AsyncClient(timeout=15) as client:
        return await client.post(
            f"{ingest.url}{path}",
            json=body if "content" not in kwargs else None,
            auth=(ingest.write_key, "") if auth is True else auth,
            **kwargs,
        )


async def test_track_is_acknowledged_only_once_it_is_in_kafka(ingest) -> None:
    event = track("booking_completed", BOOKING, userId="user-9")
    response = await post(ingest, "/v1/track", event)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    records = await read_topic(
        ingest.settings.kafka_bootstrap, ingest.topic(Topic.EVENTS), expect=1
    )
    assert len(records) == 1
    stored = records[0]
    assert stored["event_id"] == event["messageId"]
    assert stored["event"] == "booking_completed"
    assert stored["user_id"] == "user-9"
    assert stored["properties"] == BOOKING
    assert stored["source"] == "integration front end"


async def test_page_becomes_page_view_and_write_key_may_travel_in_the_body(ingest) -> None:
    body = {
        "anonymousId": "anon-2",
        "name": "Pricing",
        "context": {"page": {"path": "/pricing"}},
        "writeKey": ingest.write_key,
    }
    response = await post(ingest, "/v1/page", body, auth=None)
    assert response.status_code == 200, response.text
    records = await read_topic(
        ingest.settings.kafka_bootstrap, ingest.topic(Topic.EVENTS), expect=1
    )
    assert [(r["kind"], r["event"], r["properties"]["path"]) for r in records] == [
        ("page", "page_view", "/pricing")
    ]


async def test_gzip_batch_is_accepted(ingest) -> None:
    batch = {"batch": [track("search_performed", {"query": "thai"}) for _ in range(5)]}
    response = await post(
        ingest,
        "/v1/batch",
        content=gzip.compress(json.dumps(batch).encode()),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    records = await read_topic(
        ingest.settings.kafka_bootstrap, ingest.topic(Topic.EVENTS), expect=5
    )
    assert sorted(r["event_id"] for r in records) == sorted(e["messageId"] for e in batch["batch"])


@pytest.mark.parametrize(
    ("auth", "reason"),
    [
        (None, "missing write key"),
        (("lk_ingest_not-a-real-key", ""), "unknown or revoked write key"),
    ],
)
async def test_missing_or_unknown_write_key_is_401(ingest, auth, reason) -> None:
    response = await post(ingest, "/v1/track", track("x_event", {}), auth=auth)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert reason in response.json()["errors"][0]["reason"]


async def test_an_admin_key_is_not_a_write_key(ingest) -> None:
    response = await post(ingest, "/v1/track", track("x_event", {}), auth=(ingest.admin_key, ""))
    assert response.status_code == 401


async def test_request_over_500_kb_is_413(ingest) -> None:
    padding = "x" * 10_000
    batch = {"batch": [track("custom_event", {"pad": padding}) for _ in range(60)]}
    response = await post(ingest, "/v1/batch", batch)
    assert response.status_code == 413
    assert "exceeds 512000 bytes" in response.json()["errors"][0]["reason"]


async def test_batch_stores_valid_events_and_reports_and_dead_letters_the_rest(ingest) -> None:
    good = [track("booking_attempt", BOOKING) for _ in range(3)]
    bad_price = track("booking_completed", {**BOOKING, "totalPrice": "lots"})
    no_actor = {"type": "track", "event": "x_event", "messageId": uuid.uuid4().hex}
    too_big = track("custom_event", {"pad": "y" * 40_000})
    bad_type = {"type": "alias", "userId": "u", "previousId": "p"}
    batch = [good[0], bad_price, good[1], no_actor, too_big, good[2], bad_type]
    response = await post(ingest, "/v1/batch", {"batch": batch})

    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] == 3
    by_index = {error["index"]: error for error in body["errors"]}
    assert by_index.keys() == {1, 3, 4, 6}
    assert by_index[1]["field"] == "properties.totalPrice"
    assert by_index[3]["reason"] == "userId or anonymousId is required"
    assert "exceeds 32768 bytes" in by_index[4]["reason"]
    assert by_index[6]["field"] == "type"

    bootstrap = ingest.settings.kafka_bootstrap
    stored = await read_topic(bootstrap, ingest.topic(Topic.EVENTS), expect=3)
    assert sorted(r["event_id"] for r in stored) == sorted(e["messageId"] for e in good)
    letters = await read_topic(bootstrap, ingest.topic(Topic.EVENTS_DLQ), expect=4)
    assert sorted(letter["errors"][0]["index"] for letter in letters) == [1, 3, 4, 6]
    assert all(letter["stage"] == "ingest" for letter in letters)
    assert {letter["reason"] for letter in letters} == {"invalid", "too_large"}
    assert {letter["code"] for letter in letters} == {"invalid"}


async def test_metrics_count_accepted_and_rejected_events(ingest) -> None:
    await post(ingest, "/v1/batch", {"batch": [track("x_event", {}), {"type": "track"}]})
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{ingest.url}/metrics")).text
    assert 'lookout_ingest_events_total{reason="",result="accepted"} 1.0' in text
    assert 'lookout_ingest_events_total{reason="invalid",result="rejected"} 1.0' in text
    assert "lookout_ingest_publish_seconds_count 1.0" in text


async def test_browser_preflight_from_any_origin_is_allowed_without_credentials(ingest) -> None:
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.options(
            f"{ingest.url}/v1/batch",
            headers={
                "Origin": "https://massage.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in response.headers
