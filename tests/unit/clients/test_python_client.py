"""The back-end client (`clients/python`) against an in-process ingest stand-in
(httpx.MockTransport): batching, retries, partial drops, limits, and that no call ever
raises into the application."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from lookout_client import (
    AsyncClient,
    Client,
    ClientClosed,
    DeliveryFailed,
    InvalidMessage,
    LookoutClientError,
    MessageTooLarge,
    QueueFull,
    Rejected,
    Unauthorized,
    __version__,
)
from lookout_client.delivery import RetryPolicy, retry_after

ENDPOINT = "http://ingest.test:8001"
KEY = "wk_test_key"

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def ok() -> httpx.Response:
    return httpx.Response(200, json={"success": True})


def refused(status: int, errors: list[dict], accepted: int = 0, **headers: str) -> httpx.Response:
    body = {"success": False, "accepted": accepted, "errors": errors}
    return httpx.Response(status, json=body, headers=headers)


class Ingest:
    """Stands in for ingest: records every request and answers from a script (then 200)."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []
        self.changed = threading.Condition()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.changed:
            self.requests.append(request)
            self.times.append(time.monotonic())
            self.changed.notify_all()
            reply = self.replies.pop(0) if self.replies else ok()
        if isinstance(reply, Exception):
            raise reply
        return reply(request) if callable(reply) else reply

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: len(self.requests) >= count, timeout)

    def bodies(self) -> list[dict]:
        return [json.loads(request.content) for request in self.requests]

    def batches(self) -> list[list[dict]]:
        return [body["batch"] for body in self.bodies()]

    def ids(self) -> list[list[str]]:
        return [[message["messageId"] for message in batch] for batch in self.batches()]


class Errors(list):
    """An on_error that keeps what it was given."""

    def __call__(self, error: LookoutClientError) -> None:
        self.append(error)

    def kinds(self) -> list[type]:
        return [type(error) for error in self]


def client(ingest: Ingest, errors: Errors | None = None, **options) -> Client:
    options.setdefault("flush_interval_s", 60.0)
    options.setdefault("backoff_s", 0.01)
    return Client(KEY, ENDPOINT, transport=ingest.transport, on_error=errors, **options)


def async_client(ingest: Ingest, errors: Errors | None = None, **options) -> AsyncClient:
    options.setdefault("flush_interval_s", 60.0)
    options.setdefault("backoff_s", 0.01)
    return AsyncClient(KEY, ENDPOINT, transport=ingest.transport, on_error=errors, **options)


# --- the wire ---------------------------------------------------------------------------


def test_one_batch_carries_basic_auth_library_context_and_message_fields() -> None:
    ingest = Ingest()
    with client(ingest) as lookout:
        tracked = lookout.track("gift_card_redeemed", {"amount": 20}, user_id="u-1")
        identified = lookout.identify("u-1", {"plan": "premium"}, anonymous_id="anon-1")
        paged = lookout.page("/therapists/t-7", {"title": "Anna"}, anonymous_id="anon-1")
        assert lookout.flush(timeout=5)

    assert len(ingest.requests) == 1
    request = ingest.requests[0]
    assert request.method == "POST"
    assert str(request.url) == f"{ENDPOINT}/v1/batch"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(b"wk_test_key:").decode()
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    sent_at = datetime.fromisoformat(body["sentAt"].replace("Z", "+00:00"))
    assert sent_at.utcoffset() == timedelta(0)
    track, identify, page = body["batch"]
    assert [track["messageId"], identify["messageId"], page["messageId"]] == [
        tracked,
        identified,
        paged,
    ]
    for message in body["batch"]:
        assert uuid.UUID(hex=message["messageId"]).version == 4
        assert len(message["messageId"]) == 32
        stamp = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00"))
        assert stamp.utcoffset() == timedelta(0)
        assert abs(stamp - datetime.now(UTC)) < timedelta(seconds=30)
        assert message["context"]["library"] == {"name": "lookout-client", "version": __version__}
    assert track["type"] == "track"
    assert track["event"] == "gift_card_redeemed"
    assert track["properties"] == {"amount": 20}
    assert track["userId"] == "u-1"
    assert "anonymousId" not in track
    assert identify["type"] == "identify"
    assert identify["traits"] == {"plan": "premium"}
    assert (identify["userId"], identify["anonymousId"]) == ("u-1", "anon-1")
    assert page["type"] == "page"
    assert page["properties"] == {"title": "Anna", "path": "/therapists/t-7"}


def test_given_timestamp_and_message_id_are_sent_in_utc_and_kept() -> None:
    ingest = Ingest()
    berlin = timezone(timedelta(hours=1))
    with client(ingest) as lookout:
        lookout.track(
            "x_event",
            anonymous_id="a",
            timestamp=datetime(2026, 3, 1, 13, 0, tzinfo=berlin),
            message_id="order-1001",
        )
        lookout.track("x_event", anonymous_id="a", timestamp=datetime(2026, 3, 1, 12, 0))
    first, second = ingest.batches()[0]
    assert first["messageId"] == "order-1001"
    assert first["timestamp"] == "2026-03-01T12:00:00.000000Z"
    assert second["timestamp"] == "2026-03-01T12:00:00.000000Z"  # naive is taken as UTC


def test_every_call_sends_the_actor_context_timestamp_and_message_id_it_is_given() -> None:
    ingest = Ingest()
    envelope = {
        "anonymous_id": "anon-1",
        "context": {"ip": "203.0.113.9"},
        "timestamp": datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
    }
    with client(ingest) as lookout:
        ids = [
            lookout.track("x_event", message_id="m-1", **envelope),
            lookout.identify("u-1", message_id="m-2", **envelope),
            lookout.page("/", message_id="m-3", **envelope),
            lookout.track_booking(
                "attempt", therapist_id="t-7", service_type="thai", message_id="m-4", **envelope
            ),
            lookout.track_chat_activity("started", chat_id="c-1", message_id="m-5", **envelope),
            lookout.track_search("thai", message_id="m-6", **envelope),
            lookout.track_user_registration("customer", message_id="m-7", **envelope),
            lookout.track_error("import failed", message_id="m-8", **envelope),
        ]
    assert ids == [f"m-{n}" for n in range(1, 9)]
    (sent,) = ingest.batches()
    assert [message["messageId"] for message in sent] == ids
    library = {"name": "lookout-client", "version": __version__}
    for message in sent:
        assert message["anonymousId"] == "anon-1"
        assert message["context"] == {"ip": "203.0.113.9", "library": library}
        assert message["timestamp"] == "2026-03-01T12:00:00.000000Z"


def test_a_misspelt_keyword_fails_at_the_call_like_any_python_call() -> None:
    ingest = Ingest()
    with client(ingest) as lookout:
        with pytest.raises(TypeError, match="'usr_id'"):
            lookout.track("x_event", usr_id="u-1")
        with pytest.raises(TypeError, match="'user'"):
            lookout.track_booking("attempt", therapist_id="t-7", service_type="thai", user="u-1")
    with pytest.raises(TypeError, match="'usr_id'"):
        async_client(ingest).track("x_event", usr_id="u-1")
    assert ingest.requests == []


def test_product_helpers_use_ingest_property_names() -> None:
    ingest = Ingest()
    with client(ingest) as lookout:
        lookout.track_booking(
            "completed",
            therapist_id="t-7",
            service_type="thai",
            total_price=Decimal("75.50"),
            currency="EUR",
            duration=60,
            user_id="u-1",
        )
        lookout.track_booking("attempt", therapist_id="t-7", service_type="thai", user_id="u-1")
        lookout.track_chat_activity(
            "message_sent", chat_id="c-1", message_length=12, has_attachment=False, user_id="u-1"
        )
        lookout.track_search("thai", filters={"city": "Berlin"}, results_count=4, anonymous_id="a")
        lookout.track_user_registration("customer", method="google", user_id="u-2")
    events = [(message["event"], message["properties"]) for message in ingest.batches()[0]]
    assert events == [
        (
            "booking_completed",
            {
                "therapistId": "t-7",
                "serviceType": "thai",
                "duration": 60,
                "totalPrice": 75.5,
                "currency": "EUR",
            },
        ),
        ("booking_attempt", {"therapistId": "t-7", "serviceType": "thai"}),
        ("chat_message_sent", {"chatId": "c-1", "messageLength": 12, "hasAttachment": False}),
        ("search_performed", {"query": "thai", "filters": {"city": "Berlin"}, "resultsCount": 4}),
        ("user_registered", {"userType": "customer", "method": "google"}),
    ]


def test_track_error_sends_the_exception_class_and_its_traceback() -> None:
    ingest = Ingest()

    def charge() -> None:
        raise TimeoutError("payment provider did not answer")

    with client(ingest) as lookout:
        try:
            charge()
        except TimeoutError as error:
            lookout.track_error(error, details={"provider": "stripe"}, user_id="u-1")
        lookout.track_error("nightly import skipped", anonymous_id="cron")
    from_exception, from_text = ingest.batches()[0]
    assert from_exception["event"] == "error_occurred"
    properties = from_exception["properties"]
    assert properties["message"] == "payment provider did not answer"
    assert properties["type"] == "TimeoutError"
    assert properties["stack"].startswith("Traceback (most recent call last):")
    assert "in charge" in properties["stack"]
    assert properties["context"] == {"provider": "stripe"}
    assert from_text["properties"] == {"message": "nightly import skipped"}


# --- when batches leave -------------------------------------------------------------------


def test_flush_at_sends_a_full_batch_without_waiting_for_the_interval() -> None:
    ingest = Ingest()
    lookout = client(ingest, flush_at=3)
    try:
        for number in range(7):
            lookout.track("x_event", {"n": number}, anonymous_id="a")
        assert ingest.wait_for_requests(2)
        assert [len(batch) for batch in ingest.batches()] == [3, 3]
    finally:
        lookout.close()
    assert [len(batch) for batch in ingest.batches()] == [3, 3, 1]


def test_calls_from_many_threads_are_each_sent_once() -> None:
    ingest = Ingest()
    sent: list[str | None] = []

    def request_handler(thread: int) -> None:
        ids = [lookout.track("x_event", {"n": n}, user_id=f"u-{thread}") for n in range(250)]
        sent.extend(ids)  # list.extend is atomic under the GIL

    with client(ingest, flush_at=50) as lookout:
        threads = [threading.Thread(target=request_handler, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    delivered = [message_id for batch in ingest.ids() for message_id in batch]
    assert None not in sent
    assert sorted(delivered) == sorted(sent)
    assert len(set(delivered)) == 2000
    assert max(len(batch) for batch in ingest.batches()) <= 50


def test_interval_sends_a_partial_batch() -> None:
    ingest = Ingest()
    lookout = client(ingest, flush_at=100, flush_interval_s=0.2)
    try:
        started = time.monotonic()
        lookout.track("x_event", anonymous_id="a")
        assert ingest.wait_for_requests(1)
        assert 0.15 <= ingest.times[0] - started < 3
    finally:
        lookout.close()


def test_batches_stay_under_ingest_request_limit() -> None:
    ingest = Ingest()
    filler = "x" * 20_000
    with client(ingest) as lookout:
        for _ in range(60):
            assert lookout.track("x_event", {"note": filler}, anonymous_id="a")
    sizes = [len(request.content) for request in ingest.requests]
    assert len(sizes) >= 3
    assert max(sizes) <= 512_000
    assert sum(len(batch) for batch in ingest.batches()) == 60


def test_event_over_32_kb_is_dropped_and_never_sent() -> None:
    ingest, errors = Ingest(), Errors()
    with client(ingest, errors) as lookout:
        assert lookout.track("x_event", {"note": "x" * 33_000}, anonymous_id="a") is None
        kept = lookout.track("x_event", {"note": "small"}, anonymous_id="a")
    assert errors.kinds() == [MessageTooLarge]
    assert "over ingest's limit of 32768" in errors[0].reason
    assert ingest.ids() == [[kept]]
    assert b"x" * 1000 not in ingest.requests[0].content


def test_full_queue_drops_the_newest_message() -> None:
    ingest, errors = Ingest(), Errors()
    with client(ingest, errors, max_queue=2) as lookout:
        first = lookout.track("x_event", {"n": 1}, anonymous_id="a")
        second = lookout.track("x_event", {"n": 2}, anonymous_id="a")
        assert lookout.track("x_event", {"n": 3}, anonymous_id="a") is None
    assert errors.kinds() == [QueueFull]
    assert errors[0].messages[0]["properties"] == {"n": 3}
    assert ingest.ids() == [[first, second]]


def test_close_flushes_and_later_calls_are_reported_as_closed() -> None:
    ingest, errors = Ingest(), Errors()
    lookout = client(ingest, errors)
    queued = lookout.track("x_event", anonymous_id="a")
    assert ingest.requests == []
    assert lookout.close(timeout=5)
    assert ingest.ids() == [[queued]]
    assert lookout.track("x_event", anonymous_id="a") is None
    assert lookout.flush(timeout=1)
    assert errors.kinds() == [ClientClosed]


# --- retries ------------------------------------------------------------------------------


def test_retry_after_is_honoured_and_message_ids_are_kept() -> None:
    limited = refused(429, [{"field": "", "reason": "rate limit"}], **{"Retry-After": "1"})
    ingest, errors = Ingest(limited), Errors()
    with client(ingest, errors) as lookout:
        lookout.track("x_event", anonymous_id="a")
        lookout.track("x_event", anonymous_id="b")
        assert lookout.flush(timeout=10)
    assert len(ingest.requests) == 2
    assert ingest.times[1] - ingest.times[0] >= 0.95
    assert ingest.ids()[0] == ingest.ids()[1]
    first, second = ingest.bodies()
    assert second["sentAt"] > first["sentAt"]  # sentAt is the time of each attempt
    assert errors == []


def test_connection_errors_and_5xx_are_retried_with_the_same_messages() -> None:
    unavailable = refused(503, [{"field": "", "reason": "broker down"}])
    ingest = Ingest(httpx.ConnectError("refused"), unavailable, httpx.ReadTimeout("slow"))
    errors = Errors()
    with client(ingest, errors) as lookout:
        sent = lookout.track("x_event", anonymous_id="a")
        assert lookout.flush(timeout=10)
    assert ingest.ids() == [[sent]] * 4
    assert errors == []


def test_backoff_waits_longer_each_time() -> None:
    ingest = Ingest(*[httpx.ConnectError("refused")] * 3)
    with client(ingest, backoff_s=0.1, flush_interval_s=0.01) as lookout:
        lookout.track("x_event", anonymous_id="a")
        assert ingest.wait_for_requests(4)  # flush() would cut the pauses short
    gaps = [later - earlier for earlier, later in itertools.pairwise(ingest.times)]
    # Jitter keeps each wait between half and all of 0.1, 0.2, 0.4 s.
    assert 0.05 <= gaps[0] < 0.4
    assert gaps[1] >= 0.1
    assert gaps[2] >= 0.2


def test_retries_run_out_and_the_batch_is_reported() -> None:
    ingest, errors = Ingest(*[refused(500, [])] * 10), Errors()
    with client(ingest, errors, max_retries=2) as lookout:
        sent = lookout.track("x_event", anonymous_id="a")
        assert lookout.flush(timeout=10)
    assert len(ingest.requests) == 3
    assert errors.kinds() == [DeliveryFailed]
    assert errors[0].message_ids == [sent]
    assert errors[0].status == 500
    assert "gave up after 3 attempt(s)" in errors[0].reason


def test_flush_cuts_a_backoff_pause_short() -> None:
    ingest = Ingest(httpx.ConnectError("refused"))
    lookout = client(ingest, backoff_s=30.0, flush_interval_s=0.05)
    try:
        lookout.track("x_event", anonymous_id="a")
        assert ingest.wait_for_requests(1)
        started = time.monotonic()
        assert lookout.flush(timeout=10)
        assert time.monotonic() - started < 5
    finally:
        lookout.close()
    assert len(ingest.requests) == 2


def test_400_drops_exactly_the_rejected_messages() -> None:
    rejection = refused(
        400,
        [
            {"index": 1, "field": "event", "reason": "event must start with a letter"},
            {"index": 3, "field": "properties.currency", "reason": "String should match pattern"},
        ],
        accepted=2,
    )
    ingest, errors = Ingest(rejection), Errors()
    with client(ingest, errors) as lookout:
        ids = [lookout.track("x_event", {"n": n}, anonymous_id="a") for n in range(4)]
        assert lookout.flush(timeout=5)
    assert len(ingest.requests) == 1  # the accepted ones were stored: nothing is resent
    assert errors.kinds() == [Rejected]
    assert errors[0].message_ids == [ids[1], ids[3]]
    assert errors[0].reasons == {
        ids[1]: ["event: event must start with a letter"],
        ids[3]: ["properties.currency: String should match pattern"],
    }


def test_401_is_reported_and_dropped_without_retrying() -> None:
    wrong_key = refused(401, [{"field": "writeKey", "reason": "unknown or revoked write key"}])
    ingest, errors = Ingest(wrong_key), Errors()
    with client(ingest, errors) as lookout:
        sent = lookout.track("x_event", anonymous_id="a")
        assert lookout.flush(timeout=5)
    assert len(ingest.requests) == 1
    assert errors.kinds() == [Unauthorized]
    assert errors[0].message_ids == [sent]
    assert "unknown or revoked write key" in errors[0].reason


def test_413_halves_the_batch_until_it_fits() -> None:
    too_large = refused(413, [{"field": "", "reason": "request body exceeds 100 bytes"}])
    ingest, errors = Ingest(too_large), Errors()
    with client(ingest, errors) as lookout:
        ids = [lookout.track("x_event", anonymous_id="a") for _ in range(4)]
        assert lookout.flush(timeout=5)
    assert ingest.ids() == [ids, ids[:2], ids[2:]]
    assert errors == []


# --- never raising ------------------------------------------------------------------------


def test_a_transport_that_raises_never_reaches_the_caller() -> None:
    ingest, errors = Ingest(*[RuntimeError("transport bug")] * 2), Errors()
    with client(ingest, errors, max_retries=1) as lookout:
        sent = lookout.track("x_event", anonymous_id="a")
        assert lookout.flush(timeout=5)
        assert lookout.track("x_event", anonymous_id="a")
    assert errors.kinds() == [DeliveryFailed]
    assert errors[0].message_ids == [sent]
    assert "RuntimeError" in errors[0].reason


def test_invalid_calls_are_reported_not_raised() -> None:
    ingest, errors = Ingest(), Errors()
    with client(ingest, errors) as lookout:
        assert lookout.track("x_event", {"n": 1}) is None
        assert lookout.track("", anonymous_id="a") is None
        assert lookout.track("x_event", {"ratio": float("nan")}, anonymous_id="a") is None
        assert lookout.track("x_event", {"thing": object()}, anonymous_id="a") is None
        assert lookout.track("x_event", ["not", "a", "mapping"], anonymous_id="a") is None
        cancelled = lookout.track_booking(
            "cancelled", therapist_id="t", service_type="s", user_id="u"
        )
        assert cancelled is None
        unpriced = lookout.track_booking(
            "completed", therapist_id="t", service_type="s", user_id="u"
        )
        assert unpriced is None
        assert lookout.page("/", ["bad"], anonymous_id="a") is None
        assert lookout.identify("u-1", {"since": datetime(2026, 1, 1, tzinfo=UTC)})
    assert errors.kinds() == [InvalidMessage] * 8
    reasons = [error.reason for error in errors]
    assert reasons[0] == "user_id or anonymous_id is required"
    assert reasons[1].startswith("event:")
    assert reasons[2] == "properties.ratio: NaN and infinity are not JSON numbers"
    assert reasons[3] == "properties.thing: a object is not a JSON value"
    assert "properties: expected a mapping" in reasons[4]
    assert "stage: expected 'attempt' or 'completed'" in reasons[5]
    assert reasons[6] == "a completed booking needs total_price and currency"
    (sent,) = ingest.batches()
    assert [message["type"] for message in sent] == ["identify"]
    assert sent[0]["traits"] == {"since": "2026-01-01T00:00:00.000000Z"}


def test_an_on_error_that_raises_does_not_break_the_client() -> None:
    ingest = Ingest()

    def broken(error: LookoutClientError) -> None:
        raise ValueError("handler bug")

    with Client(KEY, ENDPOINT, transport=ingest.transport, on_error=broken) as lookout:
        assert lookout.track("x_event") is None
        assert lookout.track("x_event", anonymous_id="a")
    assert len(ingest.batches()[0]) == 1


def test_debug_log_never_shows_property_values(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="lookout_client")
    rejection = refused(400, [{"index": 0, "field": "properties.x", "reason": "bad"}])
    ingest = Ingest(httpx.ConnectError("refused"), rejection)
    with client(ingest, Errors()) as lookout:
        lookout.track("x_event", {"secret_note": "s3cr3t-value"}, anonymous_id="a")
        lookout.track("x_event", {"ratio": float("inf"), "memo": "s3cr3t-value"}, anonymous_id="a")
    assert caplog.records
    assert "s3cr3t-value" not in caplog.text


def test_bad_settings_raise_when_the_client_is_built() -> None:
    with pytest.raises(ValueError, match="write_key is empty"):
        Client("", ENDPOINT)
    with pytest.raises(ValueError, match="endpoint must be an http"):
        Client(KEY, "ftp://ingest")
    with pytest.raises(ValueError, match="flush_at"):
        Client(KEY, ENDPOINT, flush_at=0)


# --- the pure parts -----------------------------------------------------------------------


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after("3") == 3.0
    assert retry_after(" 0 ") == 0.0
    assert retry_after("-4") == 0.0
    assert retry_after("Thu, 01 Jan 2026 12:00:30 GMT", now) == 30.0
    assert retry_after("999999") == 600.0
    assert retry_after("soon") is None
    assert retry_after(None) is None


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    policy = RetryPolicy(max_retries=10, backoff_s=0.5, max_backoff_s=4.0)
    assert [policy.delay(retry, lambda: 1.0) for retry in (1, 2, 3, 4, 5)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        4.0,
    ]
    assert [policy.delay(retry, lambda: 0.0) for retry in (1, 2, 3)] == [0.25, 0.5, 1.0]


# --- AsyncClient --------------------------------------------------------------------------


async def test_async_client_batches_and_close_flushes() -> None:
    ingest = Ingest()
    async with async_client(ingest, flush_at=2) as lookout:
        first = await lookout.track("x_event", {"n": 1}, user_id="u-1")
        second = await lookout.identify("u-1", {"plan": "free"})
        third = await lookout.track_search("thai", anonymous_id="a")
        assert await lookout.flush(timeout=5)
        fourth = await lookout.page("/", anonymous_id="a")
    assert ingest.ids() == [[first, second], [third], [fourth]]
    assert ingest.requests[0].headers["authorization"].startswith("Basic ")
    assert ingest.batches()[0][0]["context"]["library"]["name"] == "lookout-client"


async def test_async_interval_sends_a_partial_batch() -> None:
    ingest = Ingest()
    lookout = async_client(ingest, flush_interval_s=0.1)
    sent = await lookout.track("x_event", anonymous_id="a")
    deadline = time.monotonic() + 5
    while not ingest.requests and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert ingest.ids() == [[sent]]
    assert await lookout.close(timeout=5)


async def test_async_retry_after_then_400_partial_drop() -> None:
    limited = refused(429, [{"field": "", "reason": "rate limit"}], **{"Retry-After": "1"})
    rejection = refused(400, [{"index": 0, "field": "event", "reason": "bad name"}], accepted=1)
    ingest, errors = Ingest(limited, rejection), Errors()
    async with async_client(ingest, errors) as lookout:
        bad = await lookout.track("x_event", anonymous_id="a")
        await lookout.track("y_event", anonymous_id="a")
        assert await lookout.flush(timeout=10)
    assert len(ingest.requests) == 2
    assert ingest.times[1] - ingest.times[0] >= 0.95
    assert ingest.ids()[0] == ingest.ids()[1]
    assert errors.kinds() == [Rejected]
    assert errors[0].message_ids == [bad]


async def test_async_client_never_raises() -> None:
    ingest = Ingest(*[RuntimeError("transport bug")] * 3, refused(401, []))
    errors = Errors()
    async with async_client(ingest, errors, max_retries=2, max_queue=1) as lookout:
        assert await lookout.track("x_event") is None  # no id
        failed = await lookout.track("x_event", anonymous_id="a")
        assert await lookout.track("x_event", anonymous_id="a") is None  # queue full
        assert await lookout.flush(timeout=5)
        refused_key = await lookout.track_error(ValueError("boom"), anonymous_id="a")
        assert await lookout.flush(timeout=5)
    assert await lookout.track("x_event", anonymous_id="a") is None
    assert errors.kinds() == [
        InvalidMessage,
        QueueFull,
        DeliveryFailed,
        Unauthorized,
        ClientClosed,
    ]
    assert errors[2].message_ids == [failed]
    assert errors[3].message_ids == [refused_key]
