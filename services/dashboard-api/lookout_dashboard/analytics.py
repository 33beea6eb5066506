"""The analytics tab's series, from the rollups only: events over time, bookings and
conversion, top pages — each over a time range, at a granularity, in LOOKOUT_TIMEZONE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated

import asyncpg
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from lookout_common.auth import AUTH_ERRORS, Reader
from lookout_common.validation import IsoDatetime


class Granularity(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


# The longest range each granularity may cover: bounded answers, bounded work.
MAX_RANGE = {
    Granularity.MINUTE: timedelta(days=2),
    Granularity.HOUR: timedelta(days=92),
    Granularity.DAY: timedelta(days=2 * 366),
}


class Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class EventPoint(Camel):
    bucket: datetime = Field(description="Start of the bucket, in LOOKOUT_TIMEZONE")
    event: str
    events: int


class BookingPoint(Camel):
    bucket: datetime
    attempts: int
    completions: int


class Bookings(Camel):
    attempts: int
    completions: int
    conversion_rate: float = Field(description="completions / attempts, in %; 0 without attempts")
    series: list[BookingPoint]


class PageViews(Camel):
    page: str
    views: int


class Range(Camel):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    granularity: Granularity
    timezone: str


class EventSeries(Camel):
    range: Range
    points: list[EventPoint]


ERRORS = {
    **AUTH_ERRORS,
    422: {"description": "Invalid range or granularity (the reason names the field)"},
}

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=ERRORS)


Instant = IsoDatetime
From = Annotated[
    Instant | None, Query(alias="from", description="Start, ISO 8601 (default: to - 24 h)")
]
To = Annotated[Instant | None, Query(alias="to", description="End, exclusive (default: now)")]
Gran = Annotated[Granularity, Query(description="Bucket size")]


def resolve_range(start: datetime | None, end: datetime | None, granularity: Granularity):
    end = _aware(end) if end else datetime.now(UTC)
    start = _aware(start) if start else end - timedelta(hours=24)
    if start >= end:
        raise HTTPException(422, "from must be before to")
    if end - start > MAX_RANGE[granularity]:
        days = MAX_RANGE[granularity].days
        raise HTTPException(422, f"a {granularity.value} series covers at most {days} days")
    return start, end


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _zone(request: Request) -> str:
    return request.app.state.settings.timezone


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


# Buckets truncated in the local zone, then turned back into instants.
LOCAL_BUCKET = "(date_trunc($3, bucket AT TIME ZONE $4) AT TIME ZONE $4)"


async def _local_series(
    request: Request,
    query: str,
    start: datetime,
    end: datetime,
    granularity: Granularity,
    *more: object,
) -> list[asyncpg.Record]:
    """Runs `query` with $1 = start, $2 = end, $3 = granularity, $4 = the zone, then `more`."""
    zone = _zone(request)
    return await _pool(request).fetch(query, start, end, granularity.value, zone, *more)


@router.get("/events", response_model=EventSeries, summary="Events per bucket, by event name")
async def events(
    request: Request,
    _: Reader,
    start: From = None,
    end: To = None,
    granularity: Gran = Granularity.HOUR,
    event: Annotated[list[str] | None, Query(description="Only these event names")] = None,
) -> EventSeries:
    start, end = resolve_range(start, end, granularity)
    rows = await _local_series(
        request,
        f"""
        SELECT {LOCAL_BUCKET} AS bucket, event, sum(events)::bigint AS events
        FROM rollup_event_counts
        WHERE bucket >= $1 AND bucket < $2 AND ($5::text[] IS NULL OR event = ANY($5))
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        start,
        end,
        granularity,
        event,
    )
    return EventSeries(
        range=Range(start=start, end=end, granularity=granularity, timezone=_zone(request)),
        points=[EventPoint(**dict(row)) for row in rows],
    )


@router.get("/bookings", response_model=Bookings, summary="Booking attempts, completions, rate")
async def bookings(
    request: Request,
    _: Reader,
    start: From = None,
    end: To = None,
    granularity: Gran = Granularity.HOUR,
) -> Bookings:
    start, end = resolve_range(start, end, granularity)
    rows = await _local_series(
        request,
        f"""
        SELECT {LOCAL_BUCKET} AS bucket,
               coalesce(sum(events) FILTER (WHERE event = 'booking_attempt'), 0)::bigint
                 AS attempts,
               coalesce(sum(events) FILTER (WHERE event = 'booking_completed'), 0)::bigint
                 AS completions
        FROM rollup_event_counts
        WHERE bucket >= $1 AND bucket < $2
          AND event IN ('booking_attempt', 'booking_completed')
        GROUP BY 1 ORDER BY 1
        """,
        start,
        end,
        granularity,
    )
    series = [BookingPoint(**dict(row)) for row in rows]
    attempts = sum(point.attempts for point in series)
    completions = sum(point.completions for point in series)
    return Bookings(
        attempts=attempts,
        completions=completions,
        conversion_rate=round(100 * completions / attempts, 2) if attempts else 0.0,
        series=series,
    )


@router.get("/pages", response_model=list[PageViews], summary="Most viewed pages in the range")
async def pages(
    request: Request,
    _: Reader,
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[PageViews]:
    start, end = resolve_range(start, end, Granularity.DAY)
    rows = await _pool(request).fetch(
        """
        SELECT path AS page, sum(views)::bigint AS views FROM rollup_page_views
        WHERE bucket >= $1 AND bucket < $2
        GROUP BY path ORDER BY views DESC, path LIMIT $3
        """,
        start,
        end,
        limit,
    )
    return [PageViews(**dict(row)) for row in rows]
