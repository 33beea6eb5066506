"""How the analytics endpoints read the rollups: through the services' pool, over one
resolved range ($1 = from, $2 = to), in buckets of the local zone, each row as an answer
model or grouped by a column."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Query
from pydantic import BaseModel

from lookout_dashboard.bootstrap import Services
from lookout_dashboard.queries.ranges import Granularity, Range, Span

Model = TypeVar("Model", bound=BaseModel)

Top = Annotated[int, Query(ge=1, le=100, description="How many rows each list may hold")]

# Buckets truncated in the local zone, then turned back into instants.
LOCAL_BUCKET = "(date_trunc($3, bucket AT TIME ZONE $4) AT TIME ZONE $4)"

_ORIGIN = "timestamptz '2000-01-01 00:00:00+00'"


def _whole(unit: str) -> tuple[str, str]:
    """SQL for where the whole UTC `unit`s (hour, day) inside [$1, $2) start and end."""
    step = f"interval '1 {unit}'"
    first = f"date_bin({step}, $1::timestamptz + {step} - interval '1 microsecond', {_ORIGIN})"
    return first, f"date_bin({step}, $2::timestamptz, {_ORIGIN})"


def _event_counts(hourly: bool) -> str:
    if not hourly:
        return "(SELECT * FROM rollup_event_counts WHERE bucket >= $1 AND bucket < $2)"
    first, last = _whole("hour")
    return f"""(SELECT * FROM rollup_event_hours WHERE bucket >= {first} AND bucket < {last}
        UNION ALL
        SELECT * FROM rollup_event_counts WHERE bucket >= $1 AND bucket < $2
          AND (bucket < {first} OR bucket >= {last}))"""


_first_day = _whole("day")[0]
# (metric, path, bin, n) of the histogram buckets that start in [$1, $2): UTC hours, or
# for ranges longer than DAY_RESOLUTION_AFTER, UTC days (a tenth of the rows a week of
# hours would be, and the same rule: a bucket counts when its start lies in the range).
_HOUR_SAMPLES = """(SELECT metric, path, bin, n FROM rollup_values
        WHERE bucket >= $1 AND bucket < $2)"""
_DAY_SAMPLES = f"""(SELECT metric, path, bin, n FROM rollup_values_daily
        WHERE day >= ({_first_day} AT TIME ZONE 'UTC')::date
          AND day < ($2::timestamptz AT TIME ZONE 'UTC'))"""
DAY_RESOLUTION_AFTER = timedelta(days=2)
# The path of the histogram rows that hold every page's samples together.
ALL_PAGES = "*"


@dataclass(frozen=True)
class RangeReader:
    """Queries over one resolved range [start, end): each binds $1 = start and $2 = end,
    then the caller's arguments."""

    pool: asyncpg.Pool
    zone: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, services: Services, start: datetime, end: datetime) -> RangeReader:
        """Over the services' pool, in LOOKOUT_TIMEZONE (which names local days)."""
        return cls(services.pool, services.settings.timezone, start, end)

    async def row(self, query: str, *more: object) -> asyncpg.Record:
        return await self.pool.fetchrow(query, self.start, self.end, *more)

    async def rows(self, query: str, *more: object) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self.pool.fetch(query, self.start, self.end, *more)
        return rows

    async def models(self, model: type[Model], query: str, *more: object) -> list[Model]:
        """The rows of `query`, each as a `model`."""
        return [model(**dict(row)) for row in await self.rows(query, *more)]

    async def local_series(
        self, query: str, granularity: Granularity, *more: object
    ) -> list[asyncpg.Record]:
        """The rows of `query` with $3 = granularity and $4 = the zone (as LOCAL_BUCKET
        wants them), then `more`."""
        return await self.rows(query, granularity.value, self.zone, *more)

    def event_counts(self, granularity: Granularity = Granularity.MINUTE) -> str:
        """A FROM source of rollup_event_counts' rows (bucket, event, events) in [$1, $2).
        Series coarser than a minute in a zone whose offsets are whole hours read whole
        UTC hours from rollup_event_hours (60 times fewer rows) and only the edges by the
        minute."""
        zone = ZoneInfo(self.zone)
        whole_hours = all(
            (instant.astimezone(zone).utcoffset() or timedelta(0)) % timedelta(hours=1)
            == timedelta(0)
            for instant in (self.start, self.end)
        )
        return _event_counts(granularity is not Granularity.MINUTE and whole_hours)

    def value_samples(self) -> str:
        """A FROM source of histogram rows (metric, path, bin, n) for this range."""
        return _DAY_SAMPLES if self.end - self.start > DAY_RESOLUTION_AFTER else _HOUR_SAMPLES

    def span(self) -> Span:
        return Span(start=self.start, end=self.end, timezone=self.zone)

    def range(self, granularity: Granularity) -> Range:
        return Range(start=self.start, end=self.end, granularity=granularity, timezone=self.zone)


def grouped(rows: Iterable[asyncpg.Record], column: str) -> dict[Any, list[asyncpg.Record]]:
    """`rows` by their value in `column`, in the order the values first appear."""
    groups: dict[Any, list[asyncpg.Record]] = {}
    for row in rows:
        groups.setdefault(row[column], []).append(row)
    return groups
