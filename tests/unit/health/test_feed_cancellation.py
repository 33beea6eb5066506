"""Stopping the health monitor's publishing loop is never lost: a cancellation that
arrives in the same turn as the broker's acknowledgement still stops the loop (Python
3.11's `asyncio.wait_for` returns the result and drops such a cancellation, which once
left `monitor.stop()` waiting for ever)."""

from __future__ import annotations

import asyncio

import pytest

from lookout_common.infra.supervise import Supervisor
from lookout_health.feed import KafkaFeed, Message


class AcknowledgingBroker:
    """`publish` waits for the test to acknowledge it."""

    def __init__(self) -> None:
        self.acknowledged: asyncio.Future[None] | None = None

    async def publish(self, body: bytes, topic: str, key: bytes) -> None:
        self.acknowledged = asyncio.get_running_loop().create_future()
        await self.acknowledged


async def test_a_cancellation_arriving_with_the_acknowledgement_stops_the_send() -> None:
    broker = AcknowledgingBroker()
    feed = KafkaFeed(broker, None, "t.health.incidents.v1", Supervisor())  # type: ignore[arg-type]
    sending = asyncio.create_task(feed._send(Message("t.health.checks.v1", "db", b"{}")))
    while broker.acknowledged is None:
        await asyncio.sleep(0)
    broker.acknowledged.set_result(None)  # the broker answers ...
    sending.cancel()  # ... in the same turn as the stop
    with pytest.raises(asyncio.CancelledError):
        await sending
    assert sending.cancelled()
