"""`EventPublisher` against a stand-in for aiokafka's producer that acknowledges records
the way a batching producer does: everything sent before the event loop next turns goes
out, and is acknowledged, in one delivery. A request's events and dead letters must each
leave in one delivery, never one round trip per record, and a broker that does not
acknowledge in time is a `PublishFailed` for events but never for dead letters."""

from __future__ import annotations

import asyncio
import logging

import pytest
from support.messages import received, track

from lookout_common.contracts.events import DeadLetter, DeadLetterCode, FieldError
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.publisher import EventPublisher, PublishFailed, dead_letter_for


class BatchingBroker:
    """Records sent by `send` are acknowledged together on the loop's next turn (one
    delivery); with `silent` set, nothing is ever acknowledged."""

    def __init__(self, *, silent: bool = False) -> None:
        self.silent = silent
        self.deliveries: list[list[tuple[str, bytes]]] = []
        self._pending: list[tuple[str, bytes, asyncio.Future[None]]] = []

    async def send(
        self, topic: str, *, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[None]:
        loop = asyncio.get_running_loop()
        if not self._pending and not self.silent:
            loop.call_soon(self._deliver)
        acknowledged: asyncio.Future[None] = loop.create_future()
        self._pending.append((topic, value, acknowledged))
        return acknowledged

    def _deliver(self) -> None:
        batch, self._pending = self._pending, []
        self.deliveries.append([(topic, value) for topic, value, _ in batch])
        for _, _, acknowledged in batch:
            acknowledged.set_result(None)


def publisher_on(broker: BatchingBroker, timeout_s: float = 5.0) -> EventPublisher:
    settings = IngestSettings(publish_timeout_s=timeout_s, topic_prefix="")
    return EventPublisher(broker, settings)  # type: ignore[arg-type]  # a stand-in producer


def letters(count: int) -> list[DeadLetter]:
    return [
        dead_letter_for(
            {"type": "track"},
            [FieldError(index=index, field="event", reason="Field required")],
            code=DeadLetterCode.INVALID,
            reason="invalid",
            source="web",
            request_id="req-1",
        )
        for index in range(count)
    ]


async def test_2500_dead_letters_leave_in_one_delivery() -> None:
    broker = BatchingBroker()
    await publisher_on(broker).dead_letter(letters(2_500), "req-1")
    assert [len(delivery) for delivery in broker.deliveries] == [2_500]
    sent = [DeadLetter.model_validate_json(value) for _, value in broker.deliveries[0]]
    assert [letter.errors[0].index for letter in sent] == list(range(2_500))
    assert {topic for topic, _ in broker.deliveries[0]} == {"analytics.events.dlq.v1"}


async def test_a_requests_events_leave_in_one_delivery() -> None:
    broker = BatchingBroker()
    events = [received(track()) for _ in range(500)]
    await publisher_on(broker).publish(events)
    assert [len(delivery) for delivery in broker.deliveries] == [500]
    assert {topic for topic, _ in broker.deliveries[0]} == {"analytics.events.v1"}


async def test_events_a_broker_does_not_acknowledge_in_time_are_publish_failed() -> None:
    with pytest.raises(PublishFailed):
        await publisher_on(BatchingBroker(silent=True), timeout_s=0.05).publish([received(track())])


async def test_dead_letters_a_broker_does_not_acknowledge_are_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="lookout_ingest.publisher"):
        await publisher_on(BatchingBroker(silent=True), timeout_s=0.05).dead_letter(
            letters(3), "req-9"
        )
    assert [record.getMessage() for record in caplog.records] == ["dead letters not published"]
    assert caplog.records[0].letters == 3  # type: ignore[attr-defined]
