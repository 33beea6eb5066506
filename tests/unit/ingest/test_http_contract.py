"""Ingest's HTTP contract (200, 400, 401, 413, 415, 429, 503), in-process: the real app
and its acceptance logic through `httpx.ASGITransport`, with a fake publisher in place of
Kafka and a fake key cache in place of Postgres. What reaches Kafka for real, and when, is
tested against the real services in tests/integration/ingest."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from support.messages import track

from lookout_common.contracts.events import AnalyticsEvent, DeadLetter
from lookout_common.infra.apikeys import ApiKey, Role
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.acceptance import Ingest
from lookout_ingest.app import create_app
from lookout_ingest.bootstrap import Services
from lookout_ingest.publisher import PublishFailed

WRITE_KEY = "lk_ingest_web"
ADMIN_KEY = "lk_admin_ops"
BOOKING = {"therapistId": "t-1", "serviceType": "thai", "totalPrice": 80, "currency": "EUR"}


class FakeKeys:
    """The key cache: one write key (role ingest) and one admin key."""

    keys = {
        WRITE_KEY: ApiKey(id=1, name="web", role=Role.INGEST),
        ADMIN_KEY: ApiKey(id=2, name="ops", role=Role.ADMIN),
    }

    async def lookup(self, key: str) -> ApiKey | None:
        return self.keys.get(key)


@dataclass
class FakePublisher:
    """Kafka as ingest sees it: every publish call's events and every dead-letter call's
    letters; with `broken` set, every publish fails as a broker that does not ack would."""

    broken: bool = False
    published: list[list[AnalyticsEvent]] = field(default_factory=list)
    dead_lettered: list[list[DeadLetter]] = field(default_factory=list)

    async def publish(self, events: Sequence[AnalyticsEvent]) -> None:
        if self.broken:
            raise PublishFailed("no ack")
        if events:
            self.published.append(list(events))

    async def dead_letter(self, letters: Sequence[DeadLetter], request_id: str) -> None:
        self.dead_lettered.append(list(letters))

    @property
    def events(self) -> list[AnalyticsEvent]:
        return [event for call in self.published for event in call]


@asynccontextmanager
async def ingest_app(**settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, FakePublisher]]:
    """A client of an in-process ingest (lifespan run) and the publisher it publishes to."""
    publisher = FakePublisher()
    config = IngestSettings(**settings)

    @asynccontextmanager
    async def wiring(settings: IngestSettings) -> AsyncIterator[Services]:
        ingest = Ingest(settings, FakeKeys(), publisher)
        try:
            yield Services(settings=settings, ingest=ingest, readiness={})
        finally:
            ingest.close()

    app = create_app(config, wiring=wiring)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://ingest") as client,
    ):
        yield client, publisher


async def post(
    client: httpx.AsyncClient, path: str, body: Any = None, *, key: str | None = WRITE_KEY, **kw
) -> httpx.Response:
    auth = (key, "") if key is not None else None
    return await client.post(path, json=body if "content" not in kw else None, auth=auth, **kw)


def reasons(response: httpx.Response) -> list[str]:
    return [error["reason"] for error in response.json()["errors"]]


async def chunks(count: int, chunk: bytes) -> AsyncIterator[bytes]:
    """A body sent in chunks without a Content-Length."""
    for _ in range(count):
        yield chunk


# --- 200 ---------------------------------------------------------------------------------


async def test_each_endpoint_answers_200_once_its_events_are_published() -> None:
    async with ingest_app() as (client, publisher):
        calls = {
            "/v1/track": track("booking_completed", BOOKING),
            "/v1/page": {"anonymousId": "a-1", "properties": {"path": "/pricing"}},
            "/v1/identify": {"userId": "u-1", "traits": {"plan": "pro"}},
            "/v1/batch": {"batch": [track(), track()]},
        }
        for path, body in calls.items():
            response = await post(client, path, body)
            assert response.status_code == 200, (path, response.text)
            assert response.json() == {"success": True}
    assert [event.event for event in publisher.events] == [
        "booking_completed",
        "page_view",
        "identify",
        "x_event",
        "x_event",
    ]
    assert {event.source for event in publisher.events} == {"web"}
    assert publisher.dead_lettered == []


async def test_write_key_in_the_body_and_gzip_bodies_are_accepted() -> None:
    async with ingest_app() as (client, publisher):
        in_body = await post(client, "/v1/track", {**track(), "writeKey": WRITE_KEY}, key=None)
        zipped = await post(
            client,
            "/v1/batch",
            content=gzip.compress(json.dumps({"batch": [track()]}).encode()),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    assert (in_body.status_code, zipped.status_code) == (200, 200)
    assert len(publisher.events) == 2


# --- 400 ---------------------------------------------------------------------------------


async def test_bodies_that_are_not_a_json_object_are_400_and_nothing_is_published() -> None:
    bodies = {
        b'{"event": ': "malformed JSON",
        b"[1, 2]": "request body must be a JSON object",
        b"[" * 3_000 + b"]" * 3_000: "malformed JSON: nested too deeply",
        b'{"batch": ["\xff\xfe"]}': "malformed JSON",
    }
    async with ingest_app() as (client, publisher):
        for body, reason in bodies.items():
            response = await post(client, "/v1/batch", content=body)
            assert response.status_code == 400, body[:20]
            assert response.json()["success"] is False
            assert reason in reasons(response)[0]
    assert publisher.published == publisher.dead_lettered == []


async def test_an_empty_or_overlong_batch_is_400_for_the_whole_request() -> None:
    async with ingest_app(key_rate_per_s=0) as (client, publisher):
        empty = await post(client, "/v1/batch", {"batch": []})
        overlong = await post(client, "/v1/batch", {"batch": [track()] * 2_501})
    assert empty.status_code == overlong.status_code == 400
    assert empty.json()["errors"] == [
        {"index": None, "field": "batch", "reason": "batch must be a non-empty list"}
    ]
    assert reasons(overlong) == ["batch has 2501 events; at most 2500 per request"]
    assert publisher.published == publisher.dead_lettered == []


async def test_a_batch_over_the_write_keys_burst_is_400_asking_to_split_it() -> None:
    async with ingest_app(key_burst=10) as (client, publisher):
        response = await post(client, "/v1/batch", {"batch": [track() for _ in range(11)]})
    assert response.status_code == 400
    assert "more than this write key may send at once (10); split it" in reasons(response)[0]
    assert publisher.published == []


async def test_an_invalid_single_event_is_400_naming_each_field() -> None:
    async with ingest_app() as (client, publisher):
        response = await post(client, "/v1/track", track("booking_completed", {"therapistId": "t"}))
    assert response.status_code == 400
    body = response.json()
    assert (body["success"], body["accepted"]) == (False, 0)
    assert {error["field"]: error["reason"] for error in body["errors"]} == {
        "properties.serviceType": "Field required",
        "properties.totalPrice": "Field required",
    }
    assert [len(letters) for letters in publisher.dead_lettered] == [1]


async def test_a_batch_stores_its_valid_events_and_dead_letters_the_rest_in_one_call() -> None:
    good = [track("booking_attempt", BOOKING) for _ in range(3)]
    no_actor = {"type": "track", "event": "x_event"}
    too_big = track("custom_event", {"pad": "y" * 40_000})
    async with ingest_app() as (client, publisher):
        response = await post(
            client, "/v1/batch", {"batch": [good[0], no_actor, good[1], too_big, good[2]]}
        )
    assert response.status_code == 400
    assert response.json()["accepted"] == 3
    assert [(error["index"], error["reason"]) for error in response.json()["errors"]] == [
        (1, "userId or anonymousId is required"),
        (3, "event exceeds 32768 bytes"),
    ]
    assert [event.event_id for event in publisher.events] == [e["messageId"] for e in good]
    [letters] = publisher.dead_lettered
    assert [(letter.errors[0].index, letter.reason) for letter in letters] == [
        (1, "invalid"),
        (3, "too_large"),
    ]
    assert letters[1].payload is None  # a too-large event is not copied into its letter


async def test_2500_invalid_events_are_each_answered_and_dead_lettered_in_one_call() -> None:
    async with ingest_app(key_rate_per_s=0) as (client, publisher):
        response = await post(client, "/v1/batch", {"batch": [{"type": "track"}] * 2_500})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert sorted({error["index"] for error in errors}) == list(range(2_500))
    assert all(error["reason"] for error in errors)
    [letters] = publisher.dead_lettered
    assert sorted(letter.errors[0].index for letter in letters) == list(range(2_500))


# --- 401 ---------------------------------------------------------------------------------


async def test_a_missing_unknown_or_non_ingest_key_is_401_with_a_basic_challenge() -> None:
    cases = {
        None: "missing write key: send it as the Basic auth user name or as writeKey",
        "lk_ingest_not-a-real-key": "unknown or revoked write key",
        ADMIN_KEY: "unknown or revoked write key",
    }
    async with ingest_app() as (client, publisher):
        for key, reason in cases.items():
            response = await post(client, "/v1/track", track(), key=key)
            assert response.status_code == 401, key
            assert response.headers["www-authenticate"] == 'Basic realm="lookout-ingest"'
            assert response.json()["errors"] == [
                {"index": None, "field": "writeKey", "reason": reason}
            ]
    assert publisher.published == publisher.dead_lettered == []


async def test_basic_credentials_that_are_not_base64_are_401() -> None:
    async with ingest_app() as (client, publisher):
        response = await client.post(
            "/v1/track", json=track(), headers={"Authorization": "Basic ***not-base64***"}
        )
    assert response.status_code == 401
    assert reasons(response) == ["Authorization header is not valid Basic credentials"]
    assert publisher.published == []


async def test_the_basic_user_name_is_the_key_and_the_password_is_ignored() -> None:
    credentials = base64.b64encode(f"{WRITE_KEY}:anything".encode()).decode()
    async with ingest_app() as (client, publisher):
        response = await client.post(
            "/v1/track", json=track(), headers={"Authorization": f"Basic {credentials}"}
        )
    assert response.status_code == 200
    assert len(publisher.events) == 1


# --- 413 and 415 -------------------------------------------------------------------------


async def test_a_request_over_the_limit_is_413_whether_declared_sent_or_inflated() -> None:
    bomb = gzip.compress(b'{"batch": ["' + b"a" * 5_000_000 + b'"]}')
    async with ingest_app() as (client, publisher):
        declared = await post(
            client, "/v1/batch", {"batch": [track("e", {"pad": "x" * 10_000})] * 60}
        )
        streamed = await post(client, "/v1/batch", content=chunks(600, b"x" * 1_000))
        inflated = await post(
            client, "/v1/batch", content=bomb, headers={"Content-Encoding": "gzip"}
        )
        single = await post(client, "/v1/track", track("e", {"pad": "x" * 40_000}))
    for response in (declared, streamed, inflated, single):
        assert response.status_code == 413
    assert reasons(declared) == reasons(streamed) == ["request body exceeds 512000 bytes"]
    assert reasons(inflated) == ["decompressed request body exceeds 512000 bytes"]
    assert reasons(single) == ["event exceeds 32768 bytes"]
    assert publisher.published == publisher.dead_lettered == []


async def test_an_encoding_other_than_gzip_is_415() -> None:
    async with ingest_app() as (client, publisher):
        response = await post(
            client, "/v1/track", content=b"{}", headers={"Content-Encoding": "br"}
        )
    assert response.status_code == 415
    assert reasons(response) == ["unsupported Content-Encoding 'br'; use gzip"]
    assert publisher.published == []


# --- 429 ---------------------------------------------------------------------------------


async def test_a_client_ip_over_its_rate_is_429_before_its_body_is_read() -> None:
    async with ingest_app(ip_rate_per_s=0.01, ip_burst=2) as (client, publisher):
        answers = [await post(client, "/v1/track", track()) for _ in range(3)]
        # Not even a missing key is looked at: the IP's limit comes first.
        unauthenticated = await post(client, "/v1/track", track(), key=None)
    assert [answer.status_code for answer in answers] == [200, 200, 429]
    for refused in (answers[2], unauthenticated):
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert "rate limit of this client IP exceeded; nothing was stored" in reasons(refused)[0]
    assert len(publisher.events) == 2


async def test_a_write_key_spends_one_token_per_event_and_over_its_rate_gets_429() -> None:
    async with ingest_app(key_rate_per_s=0.01, key_burst=10) as (client, publisher):
        first = await post(client, "/v1/batch", {"batch": [track() for _ in range(6)]})
        over = await post(client, "/v1/batch", {"batch": [track() for _ in range(5)]})
        rest = await post(client, "/v1/batch", {"batch": [track() for _ in range(4)]})
    assert (first.status_code, over.status_code, rest.status_code) == (200, 429, 200)
    assert int(over.headers["retry-after"]) >= 1
    assert "rate limit of this write key exceeded; nothing was stored" in reasons(over)[0]
    assert len(publisher.events) == 10
    assert publisher.dead_lettered == []


# --- 503 ---------------------------------------------------------------------------------


async def test_a_broker_that_does_not_ack_is_503_with_retry_after() -> None:
    async with ingest_app(retry_after_s=7) as (client, publisher):
        publisher.broken = True
        response = await post(client, "/v1/batch", {"batch": [track(), {"type": "track"}]})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json() == {
        "success": False,
        "accepted": 0,
        "errors": [
            {
                "index": None,
                "field": "",
                "reason": "event broker unavailable; nothing from this request was stored, "
                "retry later",
            }
        ],
    }
    assert publisher.dead_lettered == []  # the request is to be resent whole


async def test_a_tracking_request_is_handled_without_a_thread_handoff(monkeypatch) -> None:
    """Every dependency of the tracking routes runs on the event loop: a sync one would be
    run in the thread pool, a hand-off per request (9.7% of ingest's time in a profile)."""
    from fastapi import routing
    from fastapi.dependencies import utils

    handed_off: list[str] = []

    def counting(original):
        async def run(func, *args, **kwargs):
            handed_off.append(getattr(func, "__name__", repr(func)))
            return await original(func, *args, **kwargs)

        return run

    monkeypatch.setattr(utils, "run_in_threadpool", counting(utils.run_in_threadpool))
    monkeypatch.setattr(routing, "run_in_threadpool", counting(routing.run_in_threadpool))
    async with ingest_app() as (client, publisher):
        for path, body in (("/v1/track", track()), ("/v1/batch", {"batch": [track()]})):
            response = await post(client, path, body)
            assert response.status_code == 200, response.text
    assert len(publisher.events) == 2
    assert handed_off == []
