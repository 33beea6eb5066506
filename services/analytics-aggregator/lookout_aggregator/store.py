"""Writing one batch of events to Postgres: dedupe, raw rows and rollups in one transaction.

The transaction is the unit of exactly-once: the event-id ledger, the raw rows
and every rollup change commit together or not at all, and Kafka offsets are
committed only afterwards. A redelivered event finds its id in the ledger and
changes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime

import asyncpg

from lookout_common.events import AnalyticsEvent, EventType

RAW_COLUMNS = (
    "event_id",
    "occurred_at",
    "received_at",
    "kind",
    "event",
    "user_id",
    "anonymous_id",
    "session_id",
    "properties",
    "context",
    "source",
)


def minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def quarter_hour(moment: datetime) -> datetime:
    """15-minute buckets: every real UTC offset is a multiple of 15 minutes."""
    moment = minute(moment)
    return moment.replace(minute=moment.minute - moment.minute % 15)


@dataclass
class Rollups:
    """The rollup changes of a set of new (never stored before) events."""

    event_counts: Counter
    page_views: Counter
    distinct: set[tuple[str, datetime, str]]

    @classmethod
    def of(cls, events: list[AnalyticsEvent]) -> Rollups:
        event_counts: Counter = Counter()
        page_views: Counter = Counter()
        distinct: set[tuple[str, datetime, str]] = set()
        for event in events:
            at = minute(event.timestamp)
            event_counts[(at, event.event)] += 1
            if event.actor_id:
                distinct.add(("actor", at, event.actor_id))
            if event.event == EventType.PAGE_VIEW:
                path = event.properties.get("path")
                if isinstance(path, str):
                    page_views[(quarter_hour(event.timestamp), path)] += 1
            elif event.event == EventType.CHAT_STARTED:
                chat = event.properties.get("chatId")
                if isinstance(chat, str):
                    distinct.add(("chat", at, chat))
        return cls(event_counts, page_views, distinct)


def _session_id(event: AnalyticsEvent) -> str | None:
    session = event.context.get("sessionId")
    return session if isinstance(session, str) else None


def raw_row(event: AnalyticsEvent) -> tuple:
    return (
        event.event_id,
        event.timestamp,
        event.received_at,
        event.kind,
        event.event,
        event.user_id,
        event.anonymous_id,
        _session_id(event),
        event.properties,
        {**event.context, "traits": event.traits} if event.traits else event.context,
        event.source,
    )


async def ensure_partitions(connection: asyncpg.Connection, days: set[date]) -> None:
    """Day partitions are created outside the batch transaction (DDL takes strong locks)."""
    for day in sorted(days):
        await connection.execute("SELECT lookout_ensure_event_partition($1)", day)


async def store_batch(connection: asyncpg.Connection, events: list[AnalyticsEvent]) -> int:
    """Store the events not stored before; returns how many were new.

    Call inside a transaction. Keys are sorted so concurrent replicas lock rollup
    rows in the same order and cannot deadlock each other.
    """
    unique: dict[str, AnalyticsEvent] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    if not unique:
        return 0
    ids = sorted(unique)
    new_ids = await connection.fetch(
        """
        INSERT INTO event_ids (event_id, occurred_at)
        SELECT * FROM unnest($1::text[], $2::timestamptz[])
        ON CONFLICT (event_id) DO NOTHING
        RETURNING event_id
        """,
        ids,
        [unique[event_id].timestamp for event_id in ids],
    )
    fresh = [unique[row["event_id"]] for row in new_ids]
    if not fresh:
        return 0
    await connection.copy_records_to_table(
        "user_analytics", records=[raw_row(event) for event in fresh], columns=RAW_COLUMNS
    )
    rollups = Rollups.of(fresh)
    counts = sorted(rollups.event_counts.items())
    await connection.execute(
        """
        INSERT INTO rollup_event_counts (bucket, event, events)
        SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[])
        ON CONFLICT (bucket, event)
        DO UPDATE SET events = rollup_event_counts.events + EXCLUDED.events
        """,
        [bucket for (bucket, _), _ in counts],
        [name for (_, name), _ in counts],
        [count for _, count in counts],
    )
    if rollups.page_views:
        views = sorted(rollups.page_views.items())
        await connection.execute(
            """
            INSERT INTO rollup_page_views (bucket, path, views)
            SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::bigint[])
            ON CONFLICT (bucket, path)
            DO UPDATE SET views = rollup_page_views.views + EXCLUDED.views
            """,
            [bucket for (bucket, _), _ in views],
            [path for (_, path), _ in views],
            [count for _, count in views],
        )
    if rollups.distinct:
        members = sorted(rollups.distinct)
        await connection.execute(
            """
            INSERT INTO rollup_distinct (kind, bucket, member)
            SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[])
            ON CONFLICT DO NOTHING
            """,
            [kind for kind, _, _ in members],
            [bucket for _, bucket, _ in members],
            [member for _, _, member in members],
        )
    return len(fresh)
