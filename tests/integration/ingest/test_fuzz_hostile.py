"""Property-based: generated hostile Segment messages and raw bodies against a real ingest
process and broker. Whatever arrives, ingest answers a 2xx or a 4xx, never a 5xx, within a
bounded time, and an event sent afterwards still reaches the topic within 5 s."""

from __future__ import annotations

import gzip
import json
import time
import uuid

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lookout_common.contracts.topics import Topic

pytestmark = pytest.mark.integration

ANSWER_BUDGET_S = 2.0
ALLOWED = {200, 400, 401, 413, 415, 429}
EVENT_NAMES = [
    "booking_completed",
    "booking_attempt",
    "error_occurred",
    "search_performed",
    "page_view",
    "login_attempt",
    "performance",
    "x_event",
]

# Text as a hostile client writes it: lone surrogates, controls, astral characters,
# shapes that make backtracking regexes retry (e-mail, phone and card look-alikes).
hostile_text = st.one_of(
    st.text(st.characters(exclude_categories=[]), max_size=40),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "\U0001f600", "", " ", "\u202e"]),
    st.builds(
        lambda unit, n: unit * n,
        st.sampled_from(["a@a.", "1 ", "(1) ", "1-", "a."]),
        st.integers(1, 3_000),
    ),
)
hostile_number = st.one_of(
    st.integers(),
    st.integers(min_value=2**63 - 2, max_value=2**70),
    st.integers(min_value=-(2**70), max_value=-(2**63) + 2),
    st.floats(allow_nan=True, allow_infinity=True),
)
scalar = st.one_of(st.none(), st.booleans(), hostile_number, hostile_text)
json_value = st.recursive(
    scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(hostile_text, children, max_size=5)
    ),
    max_leaves=25,
)
deep_value = st.integers(20, 60).map(lambda depth: _nested(depth))
hostile_time = st.one_of(
    st.sampled_from(
        [
            "0001-01-01T00:30:00+01:00",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-01:00",
            "9999-12-31T23:59:59Z",
            "1970-01-01T00:00:00Z",
            "2000-02-30T00:00:00Z",
            "yesterday",
        ]
    ),
    st.datetimes().map(lambda moment: moment.isoformat()),
    hostile_number,
)
message = st.fixed_dictionaries(
    {"type": st.sampled_from(["track", "page", "identify", "alias", ""])},
    optional={
        "event": st.one_of(st.sampled_from(EVENT_NAMES), hostile_text),
        "messageId": st.one_of(st.uuids().map(str), hostile_text),
        "userId": st.one_of(st.just("u-1"), hostile_text, hostile_number),
        "anonymousId": st.one_of(st.just("a-1"), hostile_text),
        "properties": st.one_of(st.dictionaries(hostile_text, json_value, max_size=8), json_value),
        "traits": st.dictionaries(hostile_text, json_value, max_size=4),
        "context": st.one_of(
            st.dictionaries(
                st.sampled_from(["userAgent", "ip", "consent", "page", "x"]), json_value
            ),
            deep_value,
        ),
        "timestamp": hostile_time,
        "sentAt": hostile_time,
    },
)


def _nested(depth: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def encode(value) -> bytes:
    """JSON as a careless client writes it: NaN, Infinity and lone surrogates included."""
    return json.dumps(value, allow_nan=True).encode()


# What HTTP lets a header carry (Latin-1 without control characters).
header_characters = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")
# What an HTTP client can send at all: h11 refuses a value with surrounding white space.
header_values = (
    st.text(header_characters, min_size=1, max_size=200).map(lambda v: v.strip(" \t")).filter(bool)
)
raw_body = st.one_of(
    st.binary(max_size=300),
    st.integers(500, 5_000).map(lambda depth: ("[" * depth + "]" * depth).encode()),
    st.integers(300, 6_000).map(lambda digits: b'{"batch":[' + b"9" * digits + b"]}"),
    st.lists(
        st.sampled_from([b"0", b"{}", b"[]", b"null", b'"x"']), min_size=1, max_size=3_000
    ).map(lambda items: b'{"batch":[' + b",".join(items) + b"]}"),
    st.sampled_from([b"", b"{", b'{"batch":', b'{"batch":{}}', b"[]", b'"\\ud800"', b"NaN"]),
)


@pytest.fixture
async def fuzzed_ingest(ingest_with):
    """A real ingest process without rate limits, so that every request is read."""
    return await ingest_with(LOOKOUT_KEY_RATE_PER_S="0", LOOKOUT_IP_RATE_PER_S="0")


def answer(client: httpx.Client, path: str, content: bytes, **headers) -> httpx.Response:
    started = time.monotonic()
    response = client.post(path, content=content, headers=headers)
    elapsed = time.monotonic() - started
    assert response.status_code in ALLOWED, (response.status_code, response.text[:500])
    assert elapsed < ANSWER_BUDGET_S, f"{path} took {elapsed:.2f} s"
    return response


def _fuzz(client: httpx.Client) -> None:
    """Hypothesis' three drives: single calls, batches, raw bodies (plain or gzipped)."""
    common = settings(
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )

    def examples(count: int) -> settings:
        return settings(common, max_examples=count)

    @examples(250)
    @given(
        path=st.sampled_from(["/v1/track", "/v1/page", "/v1/identify"]),
        item=message,
    )
    def single_messages(path: str, item: dict) -> None:
        answer(client, path, encode(item))

    @examples(100)
    @given(
        items=st.lists(st.one_of(message, scalar), min_size=1, max_size=40),
        shared=st.dictionaries(st.sampled_from(["context", "sentAt"]), json_value, max_size=2),
        request_id=st.one_of(st.none(), header_values),
    )
    def batches(items: list, shared: dict, request_id: str | None) -> None:
        headers = {} if request_id is None else {"X-Request-Id": request_id.encode("latin-1")}
        answer(client, "/v1/batch", encode({"batch": items, **shared}), **headers)

    @examples(100)
    @given(body=raw_body, gzipped=st.booleans())
    def raw_bodies(body: bytes, gzipped: bool) -> None:
        if gzipped:
            answer(client, "/v1/batch", gzip.compress(body), **{"Content-Encoding": "gzip"})
        else:
            answer(client, "/v1/batch", body)

    single_messages()
    batches()
    raw_bodies()


async def test_no_hostile_input_gets_a_5xx_or_stalls_ingest(fuzzed_ingest) -> None:
    ingest = fuzzed_ingest
    # The requests are sent from this thread, blocking: the ingest under test is another
    # process, and hypothesis drives synchronous functions.
    with httpx.Client(
        base_url=ingest.url,
        auth=(ingest.write_key, ""),
        timeout=10,
        headers={"Content-Type": "application/json"},
    ) as client:
        _fuzz(client)

    # The marker is acknowledged (acks=all) and read back from the topic within 5 s of
    # being sent: ingest still works after everything above.
    marker = {"type": "track", "event": "marker", "anonymousId": "m", "messageId": uuid.uuid4().hex}
    consumer = AIOKafkaConsumer(
        ingest.topic(Topic.EVENTS),
        bootstrap_servers=ingest.settings.kafka_bootstrap,
        group_id=None,  # no group to join: reading starts at once
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        sent = time.monotonic()
        response = await ingest.post("/v1/track", marker)
        assert response.status_code == 200
        assert await _seen_within(consumer, marker["messageId"], sent + 5.0)
    finally:
        await consumer.stop()


async def _seen_within(consumer: AIOKafkaConsumer, event_id: str, deadline: float) -> bool:
    """Whether `event_id` is read from the events topic before `deadline` (monotonic)."""
    while time.monotonic() < deadline:
        batches = await consumer.getmany(timeout_ms=200)
        for records in batches.values():
            if any(json.loads(record.value)["event_id"] == event_id for record in records):
                return True
    return False
