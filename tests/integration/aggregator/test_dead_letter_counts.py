"""The data-quality counts of dead letters (real Postgres): per hour, stage and code, the
latest reasons per code, each letter counted once however often Kafka delivers it, and
whatever else is on the topic counted instead of stopping the count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from aiokafka import ConsumerRecord

from lookout_aggregator.data_quality import DeadLetterCounter
from lookout_common.contracts.events import DeadLetter, DeadLetterCode

pytestmark = pytest.mark.integration

TOPIC = "t.analytics.events.dlq.v1"


def _letter(stage: str, code: DeadLetterCode, reason: str, **more) -> bytes:
    more.setdefault("rejected_at", datetime.now(UTC))
    return DeadLetter(stage=stage, code=code, reason=reason, **more).model_dump_json().encode()


def _records(values: list[bytes], partition: int, first: int = 0) -> list[ConsumerRecord]:
    return [
        ConsumerRecord(TOPIC, partition, first + i, 0, 0, None, v, None, len(v or b""), -1, [])
        for i, v in enumerate(values)
    ]


async def _counts(connection: asyncpg.Connection) -> dict[tuple, int]:
    rows = await connection.fetch("SELECT bucket, stage, code, letters FROM dead_letter_counts")
    return {(row["bucket"], row["stage"], row["code"]): row["letters"] for row in rows}


async def test_letters_are_counted_once_by_hour_stage_and_code(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    counter = DeadLetterCounter(pool, backoff_s=0.01)
    invalid = DeadLetterCode.INVALID
    # The hour the letters are made and counted in (taken here, not at import: a worker may
    # collect the module long before it runs the test, across an hour).
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    batch = _records(
        [
            _letter("ingest", invalid, "field `properties.q`: lone surrogate"),
            _letter("ingest", invalid, "field `properties.q`: lone surrogate"),
            _letter("ingest", DeadLetterCode.TIMESTAMP_OUT_OF_RANGE, "field `timestamp`: old"),
            _letter(
                "aggregator",
                DeadLetterCode.PROCESSING_ERROR,
                "OverflowError: date value out of range\x00",
                error_type="OverflowError",
            ),
        ],
        partition=0,
    ) + _records(
        [
            b"{not a letter",
            None,
            # Its rejected_at has no UTC datetime: counted in the current hour.
            _letter("aggregator", invalid, "year one", rejected_at="0001-01-01T00:30:00+01:00"),
        ],
        partition=1,
        first=40,
    )
    try:
        await counter.handle(batch)
        await counter.handle(batch)  # delivered again (a crash before the offset commit)
        await counter.handle(batch[2:5])
        async with pool.acquire() as connection:
            counts = await _counts(connection)
            reasons = await connection.fetch(
                "SELECT code, stage, reason, error_type, letters FROM dead_letter_reasons "
                "ORDER BY code, stage, reason"
            )
    finally:
        await pool.close()
    assert counts == {
        (hour, "ingest", "invalid"): 2,
        (hour, "ingest", "timestamp_out_of_range"): 1,
        (hour, "aggregator", "processing_error"): 1,
        (hour, "aggregator", "invalid"): 1,
        (hour, "unknown", "undecodable"): 2,
    }
    by_reason = {(row["stage"], row["reason"]): row for row in reasons}
    assert by_reason[("ingest", "field `properties.q`: lone surrogate")]["letters"] == 2
    overflow = by_reason[("aggregator", "OverflowError: date value out of range")]
    assert (overflow["code"], overflow["error_type"]) == ("processing_error", "OverflowError")
    unknown = [row for row in reasons if row["stage"] == "unknown"]
    assert [row["letters"] for row in unknown] == [1, 1]
    assert all(row["reason"].startswith("not a dead letter") for row in unknown)


async def test_only_the_latest_twenty_reasons_of_a_code_are_kept(database_url: str) -> None:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    counter = DeadLetterCounter(pool, backoff_s=0.01)
    values = [
        _letter(
            "ingest",
            DeadLetterCode.INVALID,
            f"reason {i:02d}",
            rejected_at=datetime.now(UTC) - timedelta(hours=30 - i),
        )
        for i in range(30)
    ]
    try:
        for start in range(0, 30, 7):  # several batches
            await counter.handle(_records(values[start : start + 7], 0, start))
        async with pool.acquire() as connection:
            kept = await connection.fetch(
                "SELECT reason FROM dead_letter_reasons ORDER BY last_seen DESC"
            )
            total = await connection.fetchval("SELECT sum(letters) FROM dead_letter_counts")
    finally:
        await pool.close()
    assert [row["reason"] for row in kept] == [f"reason {i:02d}" for i in range(29, 9, -1)]
    assert total == 30
    assert json.loads(values[0])["stage"] == "ingest"
