"""The coarser rollups long ranges read agree with the fine ones they summarise."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from support.events import event, store

pytestmark = pytest.mark.integration


async def test_hours_days_and_all_pages_sum_up(database_url: str) -> None:
    rng = random.Random(5)
    start = datetime(2026, 5, 1, 22, 0, tzinfo=UTC)
    events = []
    for n in range(600):
        at = start + timedelta(minutes=rng.randrange(0, 4 * 60))  # across UTC midnight
        path = rng.choice(["/", "/search", "/book"])
        if n % 2:
            events.append(
                event(
                    "page_view",
                    at,
                    user=f"u{n % 7}",
                    properties={"path": path, "loadTime": rng.uniform(50, 3000)},
                )
            )
        else:
            events.append(
                event(
                    "performance",
                    at,
                    user=f"u{n % 7}",
                    properties={
                        "path": path,
                        "lcp": rng.uniform(500, 6000),
                        "cls": rng.random() / 3,
                    },
                )
            )
    await store(database_url, events, batch=97)
    connection = await asyncpg.connect(database_url)
    try:
        hours = await connection.fetch(
            "SELECT bucket, event, events FROM rollup_event_hours ORDER BY 1, 2"
        )
        minutes = await connection.fetch(
            "SELECT date_trunc('hour', bucket) AS bucket, event, sum(events)::bigint AS events "
            "FROM rollup_event_counts GROUP BY 1, 2 ORDER BY 1, 2"
        )
        assert [tuple(r) for r in hours] == [tuple(r) for r in minutes]
        assert sum(r["events"] for r in hours) == 600

        by_day = await connection.fetch(
            "SELECT day, metric, path, bin, n FROM rollup_values_daily ORDER BY 1, 2, 3, 4"
        )
        from_hours = await connection.fetch(
            "SELECT (bucket AT TIME ZONE 'UTC')::date AS day, metric, path, bin, "
            "sum(n)::bigint AS n FROM rollup_values GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        )
        assert [tuple(r) for r in by_day] == [tuple(r) for r in from_hours]
        assert {r["day"].isoformat() for r in by_day} == {"2026-05-01", "2026-05-02"}

        totals = await connection.fetch(
            "SELECT metric, path = '*' AS everything, sum(n)::bigint AS n FROM rollup_values "
            "GROUP BY 1, 2 ORDER BY 1, 2"
        )
        samples = {"loadTime": 300, "lcp": 300, "cls": 300}
        assert {(r["metric"], r["everything"]): r["n"] for r in totals} == {
            **{(metric, False): n for metric, n in samples.items()},
            **{(metric, True): n for metric, n in samples.items()},
        }
    finally:
        await connection.close()
