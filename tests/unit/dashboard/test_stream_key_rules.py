"""The live stream holds its key to account: at most `max_per_key` streams per key, and a
stream whose key is revoked sends `revoked` and ends."""

from __future__ import annotations

import asyncio
import gc
import json

import pytest

from lookout_common.infra.settings import LookoutSettings
from lookout_dashboard.stream import Relay, TooManyStreams, events, open_stream, sse


async def no_metrics() -> str:
    return "{}"


async def never_disconnected() -> bool:
    return False


def test_a_key_holds_at_most_max_per_key_streams_and_others_are_unaffected() -> None:
    relay = Relay(LookoutSettings(), no_metrics, max_per_key=2)
    first, _ = relay.subscribe(7), relay.subscribe(7)
    with pytest.raises(TooManyStreams, match="already holds 2 live streams"):
        relay.subscribe(7)
    relay.subscribe(8)  # another key has its own allowance
    relay.unsubscribe(first)
    relay.subscribe(7)  # a closed stream frees its place
    assert sorted(s.key_id for s in relay.subscribers) == [7, 7, 8]


async def test_a_stream_dropped_before_it_started_frees_its_place() -> None:
    relay = Relay(LookoutSettings(), no_metrics, max_per_key=1)
    body = open_stream(relay, 7, is_disconnected=never_disconnected)
    with pytest.raises(TooManyStreams):
        open_stream(relay, 7, is_disconnected=never_disconnected)
    del body  # the client left before the response started: the body never ran
    gc.collect()
    assert relay.subscribers == set()
    finished = open_stream(relay, 7, is_disconnected=never_disconnected, limit=1)
    relay.broadcast("check", "{}")
    assert [chunk async for chunk in finished][-1] == sse("check", "{}", 1)
    assert relay.subscribers == set()


async def test_a_revoked_key_ends_its_stream_with_a_revoked_event() -> None:
    relay = Relay(LookoutSettings(), no_metrics)
    subscriber = relay.subscribe(7)
    answers = iter([True, True, False])
    checks = 0

    async def key_valid() -> bool:
        nonlocal checks
        checks += 1
        return next(answers)

    relay.broadcast("check", json.dumps({"n": 1}))
    body = events(
        relay,
        subscriber,
        is_disconnected=never_disconnected,
        key_valid=key_valid,
        key_check_s=0.05,
        keepalive_s=10,
    )
    chunks = await asyncio.wait_for(_all(body), 5)
    assert chunks[1] == sse("check", json.dumps({"n": 1}), 1)
    assert chunks[-1] == sse("revoked", json.dumps({"reason": "the API key was revoked"}))
    assert checks == 3
    assert relay.subscribers == set()


async def test_the_key_is_checked_while_messages_keep_flowing() -> None:
    relay = Relay(LookoutSettings(), no_metrics)
    subscriber = relay.subscribe(7)

    async def revoked() -> bool:
        return False

    async def flood() -> None:
        while True:
            relay.broadcast("metrics", "{}")
            await asyncio.sleep(0.005)

    flooding = asyncio.create_task(flood())
    try:
        body = events(
            relay,
            subscriber,
            is_disconnected=never_disconnected,
            key_valid=revoked,
            key_check_s=0.1,
        )
        chunks = await asyncio.wait_for(_all(body), 5)
    finally:
        flooding.cancel()
    assert chunks[-1].startswith("event: revoked\n")


async def _all(body) -> list[str]:
    return [chunk async for chunk in body]
