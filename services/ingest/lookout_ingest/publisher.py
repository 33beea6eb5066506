"""Publishing accepted events to Kafka: all at once, then wait for every ack.

This is ingest's hot path, so it talks to aiokafka's producer directly (see
`lookout_common.kafka.make_producer` for the measured reason)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer
from prometheus_client import Counter, Histogram

from lookout_common.events import AnalyticsEvent, DeadLetter, FieldError
from lookout_common.settings import IngestSettings
from lookout_common.topics import Topic, topic_name

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
        if not events:
            return
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._send_all(events), self._timeout)
        except Exception as error:
            EVENTS.labels("failed", "broker_unavailable").inc(len(events))
            log.warning(
                "publish failed",
                extra={"events": len(events), "error": repr(error)},
            )
            raise PublishFailed(str(error) or type(error).__name__) from error
        PUBLISH_SECONDS.observe(time.perf_counter() - started)
        EVENTS.labels("accepted", "").inc(len(events))

    async def _send_all(self, events: Sequence[AnalyticsEvent]) -> None:
        # `send` only enqueues into the producer's per-partition batches; the acks
        # (acks=all) arrive on the futures, awaited together.
        futures = []
        for event in events:
            headers = [(_CONTENT_TYPE, _JSON), (_REQUEST_ID, event.request_id.encode())]
            futures.append(
                await self._producer.send(
                    self._events_topic,
                    value=event.model_dump_json().encode(),
                    key=event.partition_key(),
                    headers=headers,
                )
            )
        await asyncio.gather(*futures)

    async def dead_letter(
        self,
        payload: object,
        errors: list[FieldError],
        *,
        reason: str,
        source: str | None,
        request_id: str,
    ) -> None:
        """Keep a rejected event for operators; a failure here is logged, not fatal."""
        EVENTS.labels("rejected", reason).inc()
        letter = DeadLetter(
            stage="ingest",
            reason=reason,
            errors=errors,
            payload=payload,
            source=source,
            request_id=request_id,
            rejected_at=datetime.now(UTC),
        )
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(
                    self._dlq_topic,
                    value=letter.model_dump_json().encode(),
                    headers=[(_CONTENT_TYPE, _JSON), (_REQUEST_ID, request_id.encode())],
                ),
                self._timeout,
            )
        except Exception as error:  # noqa: BLE001 - the client still gets its 400
            log.error(
                "dead letter not published",
                extra={"request_id": request_id, "error": repr(error)},
            )
