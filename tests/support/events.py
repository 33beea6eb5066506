"""Analytics events for tests, stored through the aggregator's own batch statement."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from lookout_aggregator.store import ensure_partitions, store_batch
from lookout_common.contracts.events import AnalyticsEvent

_ids = itertools.count(1)


def event(
    name: str,
    at: datetime,
    *,
    user: str | None = None,
    anonymous: str | None = None,
    kind: str = "track",
    properties: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
    event_id: str | None = None,
) -> AnalyticsEvent:
    """One event as ingest publishes it (actor `anonymous` when neither id is given)."""
    if user is None and anonymous is None:
        anonymous = "anonymous"
    return AnalyticsEvent(
        event_id=event_id or f"e-{next(_ids)}",
        kind=kind,
        event=name,
        user_id=user,
        anonymous_id=anonymous,
        properties=properties or {},
        traits=traits or {},
        context=context or {},
        timestamp=at,
        received_at=at,
        source="test",
        request_id="test",
    )


async def store(
    dsn: str,
    events: Iterable[AnalyticsEvent],
    *,
    timezone: str = "UTC",
    session_timeout: timedelta = timedelta(minutes=30),
    batch: int = 1000,
) -> int:
    """Store `events` in batches of `batch`, as the aggregator does; how many were new."""
    events = list(events)
    connection = await asyncpg.connect(dsn)
    try:
        days: set[date] = {e.timestamp.astimezone(UTC).date() for e in events}
        await ensure_partitions(connection, days)
        stored = 0
        for start in range(0, len(events), batch):
            values = [e.model_dump_json().encode() for e in events[start : start + batch]]
            async with connection.transaction():
                stored += await store_batch(
                    connection, values, timezone=timezone, session_timeout=session_timeout
                )
        return stored
    finally:
        await connection.close()
