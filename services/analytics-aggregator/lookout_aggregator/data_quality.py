"""Data quality: the dead letters of both stages, counted from `analytics.events.dlq.v1`.

Per UTC hour, stage and code, plus a bounded sample of the most recently seen distinct
reasons (`MAX_REASONS_PER_CODE` per code). The same discipline as the events: one
transaction per batch, offsets committed after it, and a per-partition offset ledger in
that transaction so that a letter Kafka delivers again is not counted twice. A record on
the topic that is not a dead letter is counted too (stage `unknown`, code `undecodable`):
whatever a producer writes there shows up on the dashboard instead of stopping the count.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord
from prometheus_client import Counter
from pydantic import ValidationError

from lookout_aggregator.consumer import transient
from lookout_aggregator.isolation import write_isolating
from lookout_aggregator.letters import describe, safe_text
from lookout_common.contracts.events import DeadLetter, DeadLetterCode
from lookout_common.contracts.timebounds import latest_accepted, oldest_accepted

log = logging.getLogger("lookout.aggregator.data_quality")

MAX_REASON_CHARS = 500
UNKNOWN_STAGE = "unknown"

COUNTED = Counter(
    "lookout_aggregator_dead_letters_counted_total",
    "Dead letters of both stages counted for the data-quality view, by stage and code",
    ["stage", "code"],
)
SKIPPED = Counter(
    "lookout_aggregator_dead_letters_skipped_total",
    "Records of the dead-letter topic that could not be counted (isolated by bisection)",
)


@dataclass(frozen=True)
class Counted:
    """One record of the dead-letter topic as the data-quality view counts it."""

    stage: str
    code: str
    reason: str
    error_type: str | None
    at: datetime  # UTC


def _clean(text: str, limit: int) -> str:
    """Text Postgres will take: cut, lone surrogates replaced, NUL bytes removed."""
    return safe_text(text, limit).replace("\x00", "")


def hour_of(rejected_at: datetime, now: datetime) -> datetime:
    """The UTC hour a letter counts in: its rejected_at, or `now` when that is implausible
    (a producer's clock, or a value whose UTC conversion does not even exist)."""
    plausible = oldest_accepted(now, None, None) <= rejected_at <= latest_accepted(now)
    at = rejected_at if plausible else now
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def read(value: bytes | None, now: datetime) -> Counted:
    """A record of the topic as counted; never raises, whatever the bytes."""
    try:
        letter = DeadLetter.model_validate_json(value or b"")
    except ValidationError as error:
        reason = f"not a dead letter: {describe(error)}"
        return Counted(
            UNKNOWN_STAGE,
            DeadLetterCode.UNDECODABLE.value,
            _clean(reason, MAX_REASON_CHARS),
            "ValidationError",
            hour_of(now, now),
        )
    return Counted(
        letter.stage,
        letter.code.value,
        _clean(letter.reason, MAX_REASON_CHARS),
        _clean(letter.error_type, 128) if letter.error_type else None,
        hour_of(letter.rejected_at, now),
    )


@dataclass
class Reason:
    error_type: str | None
    letters: int
    first_seen: datetime
    last_seen: datetime


@dataclass
class Tally:
    """A batch of letters summed: counts per (hour, stage, code), reasons per (code, stage,
    reason)."""

    counts: dict[tuple[datetime, str, str], int] = field(default_factory=dict)
    reasons: dict[tuple[str, str, str], Reason] = field(default_factory=dict)

    def add(self, letter: Counted) -> None:
        key = (letter.at, letter.stage, letter.code)
        self.counts[key] = self.counts.get(key, 0) + 1
        seen = self.reasons.get((letter.code, letter.stage, letter.reason))
        if seen is None:
            self.reasons[(letter.code, letter.stage, letter.reason)] = Reason(
                letter.error_type, 1, letter.at, letter.at
            )
        else:
            seen.letters += 1
            seen.first_seen = min(seen.first_seen, letter.at)
            seen.last_seen = max(seen.last_seen, letter.at)

    def rows(self) -> DeadLetterTally:
        """Sorted rows (replicas then lock rows in one order and cannot deadlock)."""
        return DeadLetterTally(
            counts=sorted((*key, n) for key, n in self.counts.items()),
            reasons=sorted(
                (*key, r.error_type, r.letters, r.first_seen, r.last_seen)
                for key, r in self.reasons.items()
            ),
        )


def tally(values: Iterable[bytes | None], now: datetime) -> Tally:
    found = Tally()
    for value in values:
        found.add(read(value, now))
    return found


class DeadLetterCounter:
    """The subscriber of the dead-letter topic: counts each letter exactly once."""

    def __init__(self, pool: asyncpg.Pool, *, backoff_s: float) -> None:
        self.pool = pool
        self.backoff_s = backoff_s
        self.stopping = False

    async def handle(self, records: list[ConsumerRecord]) -> None:
        outcome = await write_isolating(records, self._write_retrying, transient)
        for isolated in outcome.isolated:
            SKIPPED.inc()
            log.error(
                "dead-letter record not counted",
                extra={
                    "error": repr(isolated.error),
                    "partition": isolated.item.partition,
                    "offset": isolated.item.offset,
                },
            )

    async def _write_retrying(self, records: Sequence[ConsumerRecord]) -> int:
        delay = self.backoff_s
        while True:
            try:
                return await self._write(records)
            except Exception as error:
                if not transient(error) or self.stopping:
                    raise
                log.warning("database unavailable; retrying", extra={"error": repr(error)})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _write(self, records: Sequence[ConsumerRecord]) -> int:
        """Count the records not counted before, in one transaction with the ledger."""
        if not records:
            return 0
        now = datetime.now(UTC)
        async with self.pool.acquire() as connection, connection.transaction():
            topic = records[0].topic
            counted_up_to = await lock_offsets(
                connection, topic, sorted({record.partition for record in records})
            )
            fresh = [r for r in records if r.offset >= counted_up_to.get(r.partition, 0)]
            found = tally((record.value for record in fresh), now)
            next_offsets: dict[int, int] = {}
            for record in fresh:
                next_offsets[record.partition] = max(
                    next_offsets.get(record.partition, 0), record.offset + 1
                )
            await add_dead_letter_tally(connection, found.rows(), topic, next_offsets)
        for (_, stage, code), n in found.counts.items():
            COUNTED.labels(stage, code).inc(n)
        return len(fresh)


# --- the SQL: counts, reasons and the offset ledger ------------------------------------------

MAX_REASONS_PER_CODE = 20


@dataclass(frozen=True)
class DeadLetterTally:
    """Sorted rows: counts (bucket, stage, code, letters); reasons (code, stage, reason,
    error_type, letters, first_seen, last_seen)."""

    counts: list[tuple[Any, ...]]
    reasons: list[tuple[Any, ...]]


async def lock_offsets(
    connection: asyncpg.Connection, topic: str, partitions: list[int]
) -> dict[int, int]:
    """The next offset to count per partition, its ledger rows locked until the end of the
    transaction (two replicas during a rebalance then count a letter once)."""
    await connection.execute(
        """
        INSERT INTO dead_letter_offsets (topic, partition, next_offset)
        SELECT $1, partition, 0 FROM unnest($2::int[]) AS partition ORDER BY partition
        ON CONFLICT DO NOTHING
        """,
        topic,
        partitions,
    )
    rows = await connection.fetch(
        """
        SELECT partition, next_offset FROM dead_letter_offsets
        WHERE topic = $1 AND partition = ANY($2::int[]) ORDER BY partition FOR UPDATE
        """,
        topic,
        partitions,
    )
    return {row["partition"]: row["next_offset"] for row in rows}


async def add_dead_letter_tally(
    connection: asyncpg.Connection,
    tally: DeadLetterTally,
    topic: str,
    next_offsets: dict[int, int],
) -> None:
    """Add the counts and reasons, keep the latest reasons per code, advance the ledger.
    Call inside the transaction of `lock_offsets`."""
    if tally.counts:
        await connection.execute(
            """
            INSERT INTO dead_letter_counts (bucket, stage, code, letters)
            SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[])
            ON CONFLICT (bucket, stage, code)
            DO UPDATE SET letters = dead_letter_counts.letters + EXCLUDED.letters
            """,
            *zip(*tally.counts, strict=True),
        )
    if tally.reasons:
        await connection.execute(
            """
            INSERT INTO dead_letter_reasons AS r
                (code, stage, reason, error_type, letters, first_seen, last_seen)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                                 $6::timestamptz[], $7::timestamptz[])
            ON CONFLICT (code, stage, reason) DO UPDATE SET
                error_type = coalesce(EXCLUDED.error_type, r.error_type),
                letters = r.letters + EXCLUDED.letters,
                first_seen = least(r.first_seen, EXCLUDED.first_seen),
                last_seen = greatest(r.last_seen, EXCLUDED.last_seen)
            """,
            *zip(*tally.reasons, strict=True),
        )
        await connection.execute(
            """
            DELETE FROM dead_letter_reasons AS r USING (
                SELECT code, stage, reason,
                       row_number() OVER (PARTITION BY code
                                          ORDER BY last_seen DESC, letters DESC, stage, reason)
                         AS rank
                FROM dead_letter_reasons WHERE code = ANY($1::text[])) AS ranked
            WHERE ranked.rank > $2
              AND (r.code, r.stage, r.reason) = (ranked.code, ranked.stage, ranked.reason)
            """,
            sorted({row[0] for row in tally.reasons}),
            MAX_REASONS_PER_CODE,
        )
    if next_offsets:
        partitions = sorted(next_offsets)
        await connection.execute(
            """
            UPDATE dead_letter_offsets AS o
            SET next_offset = greatest(o.next_offset, n.next_offset)
            FROM unnest($2::int[], $3::bigint[]) AS n (partition, next_offset)
            WHERE o.topic = $1 AND o.partition = n.partition
            """,
            topic,
            partitions,
            [next_offsets[p] for p in partitions],
        )
