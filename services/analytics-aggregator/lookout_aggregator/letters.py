"""The aggregator's dead letters: bounded in size, published before offsets are committed.

A letter is at most a few hundred KB whatever the record was (payload cut at
`MAX_PAYLOAD_BYTES`, reason at `MAX_REASON_CHARS`, lone surrogates replaced), so a
record can never make its own letter unpublishable. What is left is the broker:

- a transient failure (connection lost, timeout, no leader: aiokafka's retriable
  errors) is retried with backoff like a database outage. The consumer then waits, as
  it must when the broker that holds its own topic is away; it moves on as soon as the
  broker takes the letter.
- a permanent refusal (the topic is not writable for us, the broker's size limit is set
  below our bound) cannot be cured by waiting: the letter is logged whole at ERROR,
  counted in `lookout_aggregator_dead_letters_unpublished_total`, and the batch commits.
  Progress wins over the DLQ: a misconfigured DLQ must not stop the analytics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from faststream.kafka import KafkaBroker
from prometheus_client import Counter

from lookout_common.contracts.events import DeadLetter, DeadLetterCode, FieldError

log = logging.getLogger("lookout.aggregator.letters")

MAX_PAYLOAD_BYTES = 32 * 1024  # ingest's largest event: every ingest event is kept whole
MAX_REASON_CHARS = 2000

LETTERS = Counter(
    "lookout_aggregator_dead_letters_total", "Dead letters published, by code", ["code"]
)
UNPUBLISHED = Counter(
    "lookout_aggregator_dead_letters_unpublished_total",
    "Dead letters the broker refused for good (logged whole instead)",
)
PUBLISH_RETRIES = Counter(
    "lookout_aggregator_dead_letter_retries_total", "Dead-letter publishes retried"
)


def safe_text(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, lone surrogates replaced (JSON must encode it)."""
    cut = text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more)"
    return cut.encode("utf-8", "replace").decode("utf-8")


def describe(error: BaseException) -> str:
    """An exception's message; never raises, even for an exception whose str() does."""
    try:
        return str(error) or type(error).__name__
    except Exception:  # noqa: BLE001 - a broken __str__ must not stop the consumer
        return type(error).__name__


def letter(
    value: bytes | None,
    code: DeadLetterCode,
    reason: str,
    *,
    error_type: str | None = None,
    source: str | None = None,
    request_id: str | None = None,
) -> DeadLetter:
    """A dead letter for one record of the events topic, bounded in size."""
    value = value or b""
    payload = value[:MAX_PAYLOAD_BYTES].decode("utf-8", "replace")
    if len(value) > MAX_PAYLOAD_BYTES:
        payload += f"… ({len(value) - MAX_PAYLOAD_BYTES} more bytes)"
    reason = safe_text(reason, MAX_REASON_CHARS)
    return DeadLetter(
        stage="aggregator",
        code=code,
        reason=reason,
        error_type=error_type,
        errors=[FieldError(field="", reason=reason)],
        payload=payload,
        source=safe_text(source, 128) if source else None,
        request_id=safe_text(request_id, 128) if request_id else None,
        rejected_at=datetime.now(UTC),
    )


def retriable(error: BaseException) -> bool:
    """A broker error that waiting can cure."""
    if isinstance(error, KafkaError):
        return bool(error.retriable) or isinstance(error, KafkaTimeoutError | KafkaConnectionError)
    return isinstance(error, OSError | TimeoutError)


class LetterBox:
    """Publishes a batch's dead letters (acks=all) before its offsets are committed."""

    def __init__(
        self,
        broker: KafkaBroker,
        topic: str,
        *,
        backoff_s: float,
        stopping: Callable[[], bool],
    ) -> None:
        self.broker = broker
        self.topic = topic
        self.backoff_s = backoff_s
        self.stopping = stopping

    async def publish(self, letters: list[DeadLetter]) -> None:
        """Publish every letter; returns when each was acknowledged or given up for good.

        Raises only a retriable error while the service is stopping (the batch is then
        redelivered after the restart and its letters published again).
        """
        pending = list(letters)
        delay = self.backoff_s
        while pending:
            pending = await self._publish_once(pending)
            if pending:
                PUBLISH_RETRIES.inc(len(pending))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _publish_once(self, letters: list[DeadLetter]) -> list[DeadLetter]:
        """The letters to try again (a retriable failure)."""
        bodies = [letter.model_dump_json().encode() for letter in letters]
        results = await asyncio.gather(
            *(self.broker.publish(body, self.topic) for body in bodies), return_exceptions=True
        )
        again = []
        for letter_, body, result in zip(letters, bodies, results, strict=True):
            if not isinstance(result, BaseException):
                LETTERS.labels(letter_.code.value).inc()
                log.error(
                    "event dead-lettered",
                    extra={"code": letter_.code.value, "reason": letter_.reason[:500]},
                )
            elif isinstance(result, asyncio.CancelledError):
                raise result
            elif retriable(result):
                if self.stopping():
                    raise result
                log.warning(
                    "dead letter not published yet; retrying", extra={"error": repr(result)}
                )
                again.append(letter_)
            else:
                UNPUBLISHED.inc()
                log.error(
                    "dead letter refused by the broker; logged instead",
                    extra={"error": repr(result), "letter": body.decode()},
                )
        return again
