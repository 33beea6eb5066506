"""Publishing accepted events to Kafka: all at once, then wait for every ack.

This is ingest's hot path, so it talks to aiokafka's producer directly (see
`lookout_common.infra.kafka.make_producer` for the measured reason)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Histogram

from lookout_common.contracts.events import AnalyticsEvent, DeadLetter, DeadLetterCode, FieldError
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.settings import IngestSettings

log = logging.getLogger(__name__)

EVENTS = Counter(
    "lookout_ingest_events_total",
    "Events received by ingest, by result (accepted, rejected, failed) and reason",
    ["result", "reason"],
)
PUBLISH_SECONDS = Histogram(
    "lookout_ingest_publish_seconds",
    "Time from publish to the broker's ack for one request's events",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
REQUEST_EVENTS = Histogram(
    "lookout_ingest_request_events",
    "Events per ingest request",
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)


_CONTENT_TYPE, _JSON, _REQUEST_ID = "content-type", b"application/json", "x-request-id"


class PublishFailed(Exception):
    """Kafka did not acknowledge every event in time: nothing may be reported as stored."""


class EventPublisher:
    """Sends a request's events without a round trip each, then awaits all acks."""

    def __init__(self, producer: AIOKafkaProducer, settings: IngestSettings) -> None:
        self._producer = producer
        self._timeout = settings.publish_timeout_s
        self._events_topic = topic_name(Topic.EVENTS, settings.topic_prefix)
        self._dlq_topic = topic_name(Topic.EVENTS_DLQ, settings.topic_prefix)

    async def publish(self, events: Sequence[AnalyticsEvent]) -> None:
        """Send every event and wait for every ack, or raise `PublishFailed`.

        All records are encoded before the first is sent, so an event that cannot be
        encoded fails the call before anything reached the broker (and is not a 503:
        only the broker's own failures are)."""
        if not events:
            return
        records = [
            (
                event.partition_key(),
                encoded(event),
                [(_CONTENT_TYPE, _JSON), (_REQUEST_ID, event.request_id.encode())],
            )
            for event in events
        ]
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._send_all(self._events_topic, records), self._timeout)
        except Exception as error:
            EVENTS.labels("failed", "broker_unavailable").inc(len(events))
            log.warning(
                "publish failed",
                extra={"events": len(events), "error": repr(error)},
            )
            raise PublishFailed(str(error) or type(error).__name__) from error
        PUBLISH_SECONDS.observe(time.perf_counter() - started)
        EVENTS.labels("accepted", "").inc(len(events))

    async def _send_all(
        self, topic: str, records: Sequence[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]
    ) -> None:
        # `send` only enqueues into the producer's per-partition batches; the acks
        # (acks=all) arrive on the futures, awaited together.
        futures = [
            await self._producer.send(topic, value=value, key=key, headers=headers)
            for key, value, headers in records
        ]
        await asyncio.gather(*futures)

    async def dead_letter(self, letters: Sequence[DeadLetter], request_id: str) -> None:
        """Keep a request's rejected events for operators, sent as one batch under one
        timeout; a failure here is logged, not fatal (the client still gets its 400)."""
        if not letters:
            return
        for letter in letters:
            EVENTS.labels("rejected", letter.reason).inc()
        headers = [(_CONTENT_TYPE, _JSON), (_REQUEST_ID, request_id.encode())]
        records = [(None, letter.model_dump_json().encode(), headers) for letter in letters]
        try:
            await asyncio.wait_for(self._send_all(self._dlq_topic, records), self._timeout)
        except Exception as error:  # noqa: BLE001 - the client still gets its 400
            log.error(
                "dead letters not published",
                extra={"request_id": request_id, "letters": len(letters), "error": repr(error)},
            )


def encoded(event: AnalyticsEvent) -> bytes:
    """`event` as UTF-8 JSON, exactly the bytes of `event.model_dump_json()` (its fields in
    the model's order, compact, UTC times ending in Z, floats written alike), by orjson in
    a quarter of the time (tests/unit/ingest/test_envelope_json.py holds the two equal)."""
    return orjson.dumps(event.__dict__, option=orjson.OPT_UTC_Z)


def dead_letter_for(
    payload: object,
    errors: list[FieldError],
    *,
    code: DeadLetterCode,
    reason: str,
    source: str | None,
    request_id: str,
) -> DeadLetter:
    """One rejected event as it goes to the dead-letter topic."""
    return DeadLetter(
        stage="ingest",
        code=code,
        reason=reason,
        errors=errors,
        payload=payload,
        source=source,
        request_id=request_id,
        rejected_at=datetime.now(UTC),
    )
