"""The live stream's fan-out: bounded per-client queues that drop a slow client's oldest
messages and tell it so, and metric ticks only while someone is watching."""

from __future__ import annotations

import asyncio
import json

from lookout_common.infra.settings import LookoutSettings
from lookout_dashboard.stream import Relay, events, sse


def relay(metrics=None, **kw) -> Relay:
    async def none() -> str:
        return "{}"

    return Relay(LookoutSettings(), metrics or none, **kw)


async def never_disconnected() -> bool:
    return False


def test_an_sse_message_is_an_event_line_a_data_line_and_a_blank_line() -> None:
    assert sse("check", '{"a":1}') == 'event: check\ndata: {"a":1}\n\n'
    assert sse("check", "{}", 7) == "id: 7\nevent: check\ndata: {}\n\n"


async def test_a_slow_client_loses_its_oldest_messages_and_is_told_how_many() -> None:
    fan = relay(queue_size=3)
    slow, other = fan.subscribe(), fan.subscribe()
    for number in range(5):
        fan.broadcast("check", json.dumps({"n": number}))
    assert slow.missed == 2
    body = events(fan, slow, is_disconnected=never_disconnected, limit=3)
    chunks = [chunk async for chunk in body]
    assert chunks[0].startswith("retry: 3000\n\nevent: hello\n")
    assert chunks[1] == sse("missed", json.dumps({"messages": 2}))
    assert chunks[2:] == [sse("check", json.dumps({"n": n}), i) for i, n in enumerate((2, 3, 4), 1)]
    # The other client's queue is its own; the finished one is unsubscribed.
    assert other.queue.qsize() == 3
    assert fan.subscribers == {other}


async def test_metrics_are_computed_only_while_a_client_is_connected() -> None:
    calls = 0

    async def metrics() -> str:
        nonlocal calls
        calls += 1
        return json.dumps({"activeUsers": calls})

    fan = relay(metrics, tick_s=0.01)
    ticking = asyncio.create_task(fan._tick())
    try:
        await asyncio.sleep(0.1)
        assert calls == 0
        assert fan.latest_metrics is None
        watcher = fan.subscribe()
        kind, data = await asyncio.wait_for(watcher.queue.get(), 1)
        assert kind == "metrics"
        assert json.loads(data)["activeUsers"] >= 1
        fan.unsubscribe(watcher)
        await asyncio.sleep(0.05)
        seen = calls
        await asyncio.sleep(0.1)
        assert calls == seen
        assert fan.latest_metrics is None
    finally:
        ticking.cancel()
        await asyncio.gather(ticking, return_exceptions=True)
