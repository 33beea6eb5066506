"""A funnel without property filters reads its step events from the `(event, occurred_at)`
index alone (migration 0018 carries the ids it needs), never from the raw rows; a step with
filters still reads the rows' properties."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from support.events import event, store

from lookout_dashboard.analysis.funnels import FunnelStep, funnel_sql

pytestmark = pytest.mark.integration

T0 = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


def scans(plan: dict[str, Any]) -> set[str]:
    """The node types of the plan that read user_analytics' partitions."""
    found = set()
    if plan.get("Relation Name", "").startswith("user_analytics"):
        found.add(plan["Node Type"])
    for child in plan.get("Plans", []):
        found |= scans(child)
    return found


async def step_scans(connection: asyncpg.Connection, steps: list[FunnelStep]) -> set[str]:
    arguments: list[object] = [T0, T0 + timedelta(days=1), [step.event for step in steps]]
    if any(step.filters for step in steps):
        arguments.append([json.dumps(step.filters) for step in steps])
    rows = await connection.fetch("EXPLAIN (FORMAT JSON) " + funnel_sql(steps), *arguments)
    return scans(json.loads(rows[0][0])[0]["Plan"])


async def test_funnels_without_filters_read_only_the_index(database_url: str) -> None:
    # Step events are a few of many, as in real traffic.
    names = ["search", "attempt", "done"] + ["page_view"] * 97
    events = [
        event(name, T0 + timedelta(seconds=20 * n), user=f"u{n % 7}")
        for n, name in enumerate(names * 30)
    ]
    assert await store(database_url, events) == len(events)
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("VACUUM ANALYZE user_analytics")
        # A table this small is cheapest read whole; the plan asked for is the one a day of
        # real traffic gets.
        await connection.execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        plain = [FunnelStep(event="search"), FunnelStep(event="attempt")]
        assert await step_scans(connection, plain) == {"Index Only Scan"}
        filtered = [FunnelStep(event="search"), FunnelStep(event="done", filters={"n": 1})]
        assert await step_scans(connection, filtered) == {"Index Scan"}
    finally:
        await connection.close()
