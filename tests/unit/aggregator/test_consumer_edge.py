"""The consumer's edge without a broker or a database: which records are dead-lettered,
with which code, and how a failing dead-letter publish is handled."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from prometheus_client import REGISTRY

from lookout_aggregator.consumer import Aggregator, Decoded, transient
from lookout_aggregator.letters import MAX_PAYLOAD_BYTES, LetterBox, letter
from lookout_common.contracts.events import AnalyticsEvent, DeadLetterCode
from lookout_common.infra.settings import AggregatorSettings

NOW = datetime.now(UTC)


def value(event_id: str, **changes) -> bytes:
    event = AnalyticsEvent(
        event_id=event_id,
        kind="track",
        event="search_performed",
        anonymous_id="a1",
        properties={"query": "thai"},
        timestamp=NOW,
        received_at=NOW,
        source="web",
        request_id="r1",
    )
    document = json.loads(event.model_dump_json())
    document.update(changes)
    return json.dumps(document).encode()


def record(payload: bytes, partition: int = 0, offset: int = 0) -> ConsumerRecord:
    return ConsumerRecord(
        "events", partition, offset, 0, 0, None, payload, None, len(payload), -1, []
    )


class Broker:
    """Records what is published; fails the first `failures` publishes with `error`."""

    def __init__(self, error: Exception | None = None, failures: int = 0) -> None:
        self.error = error
        self.failures = failures
        self.published: list[dict] = []

    async def publish(self, body: bytes, topic: str) -> None:
        if self.failures:
            self.failures -= 1
            raise self.error
        self.published.append(json.loads(body))


def aggregator(broker: Broker, **settings) -> Aggregator:
    return Aggregator(AggregatorSettings(retry_backoff_s=0.01, **settings), None, broker)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ConnectionResetError(), True),
        (TimeoutError(), True),
        (asyncpg.DeadlockDetectedError(""), True),
        (asyncpg.AdminShutdownError(""), True),
        (asyncpg.ReadOnlySQLTransactionError(""), True),
        (asyncpg.UndefinedTableError(""), True),  # a missing migration, not a record
        (asyncpg.ProgramLimitExceededError(""), False),  # index row too large
        (asyncpg.DataError(""), False),
        (asyncpg.CheckViolationError(""), False),
        (OverflowError(), False),
        (ValueError(), False),
    ],
)
def test_only_errors_no_record_can_cause_are_transient(error: Exception, expected: bool) -> None:
    assert transient(error) is expected


@pytest.mark.parametrize(
    "timestamp",
    [
        "0001-01-01T00:30:00+01:00",  # no UTC datetime: astimezone() raises OverflowError
        "9999-12-31T23:30:00-01:00",
        (NOW - timedelta(days=1096)).isoformat(),
        (NOW + timedelta(days=2)).isoformat(),
    ],
    ids=["before-year-1-utc", "after-year-9999-utc", "beyond-the-retention", "two-days-ahead"],
)
def test_a_timestamp_outside_the_accepted_range_is_dead_lettered(timestamp: str) -> None:
    events, letters = aggregator(Broker()).decode([record(value("e", timestamp=timestamp))], NOW)
    assert events == []
    assert [letter.code for letter in letters] == [DeadLetterCode.TIMESTAMP_OUT_OF_RANGE]
    assert "field `timestamp`" in letters[0].reason


def test_the_accepted_past_is_the_retention_when_it_is_nearer() -> None:
    consumer = aggregator(Broker(), events_retention_days=90, events_max_age_days=365)
    kept = value("kept", timestamp=(NOW - timedelta(days=89)).isoformat())
    old = value("old", timestamp=(NOW - timedelta(days=91)).isoformat())
    events, letters = consumer.decode([record(kept), record(old)], NOW)
    assert [event.head.event_id for event in events] == ["kept"]
    assert [letter.code for letter in letters] == [DeadLetterCode.TIMESTAMP_OUT_OF_RANGE]


async def test_an_unexpected_exception_isolates_its_record_and_stores_the_rest() -> None:
    broker = Broker()
    consumer = aggregator(broker)
    stored: list[str] = []

    async def store(events: Sequence[Decoded]) -> int:
        if any(event.head.event_id == "poison" for event in events):
            raise OverflowError("date value out of range")
        stored.extend(event.head.event_id for event in events)
        return len(events)

    consumer._store = store
    batch = [record(value(f"e{i}"), partition=i % 3, offset=i) for i in range(9)]
    batch.insert(4, record(value("poison"), partition=1, offset=99))
    await consumer.handle(batch)
    assert sorted(stored) == [f"e{i}" for i in range(9)]
    assert [(letter["code"], letter["error_type"]) for letter in broker.published] == [
        ("processing_error", "OverflowError")
    ]
    assert broker.published[0]["reason"] == "OverflowError: date value out of range"
    assert {tp.partition: offset for tp, offset in consumer.processed.items()} == {
        0: 7,
        1: 100,
        2: 9,
    }


def test_a_letter_is_bounded_whatever_the_record() -> None:
    huge = b'{"q": "' + b'\\"' * 400_000 + b'"}'
    dead = letter(huge, DeadLetterCode.UNDECODABLE, "x" * 100_000 + "\ud800")
    body = dead.model_dump_json().encode()
    assert len(body) < 256 * 1024
    assert dead.payload.startswith(huge[:100].decode())
    assert dead.payload.endswith(f"({len(huge) - MAX_PAYLOAD_BYTES} more bytes)")


async def test_a_dead_letter_the_broker_cannot_take_yet_is_retried_until_it_can() -> None:
    broker = Broker(KafkaConnectionError("broker away"), failures=3)
    box = LetterBox(broker, "dlq", backoff_s=0.01, stopping=lambda: False)
    await box.publish([letter(b"{}", DeadLetterCode.UNDECODABLE, "bad")])
    assert len(broker.published) == 1


def _unpublished() -> float:
    return REGISTRY.get_sample_value("lookout_aggregator_dead_letters_unpublished_total") or 0


async def test_a_dead_letter_refused_for_good_is_logged_and_the_batch_goes_on(caplog) -> None:
    broker = Broker(MessageSizeTooLargeError(), failures=1)
    box = LetterBox(broker, "dlq", backoff_s=0.01, stopping=lambda: False)
    unpublished = _unpublished()
    await box.publish([letter(b'{"event_id": "x"}', DeadLetterCode.UNDECODABLE, "bad")])
    assert broker.published == []
    assert _unpublished() == unpublished + 1
    assert any("event_id" in str(getattr(r, "letter", "")) for r in caplog.records)


async def test_a_retriable_publish_failure_while_stopping_is_raised_for_redelivery() -> None:
    broker = Broker(KafkaConnectionError(), failures=1)
    box = LetterBox(broker, "dlq", backoff_s=0.01, stopping=lambda: True)
    with pytest.raises(KafkaConnectionError):
        await box.publish([letter(b"{}", DeadLetterCode.UNDECODABLE, "bad")])
