"""The analytics tab's series, from the rollups only: events over time, bookings and
conversion, top pages — each over a time range, at a granularity, in LOOKOUT_TIMEZONE.

A rollup bucket counts when its start lies in [from, to): ranges apply at the
resolution of the table read (minute, 15 minutes, UTC hour or local day)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from lookout_common.contracts.models import Camel
from lookout_common.infra.auth import Reader
from lookout_dashboard.analysis.histogram import bins_by, percentile
from lookout_dashboard.analysis.rates import percent
from lookout_dashboard.bootstrap import ServicesDep
from lookout_dashboard.queries.ranges import (
    From,
    Gran,
    Granularity,
    Range,
    To,
    local_days,
    resolve_range,
)
from lookout_dashboard.queries.rollups import LOCAL_BUCKET, RangeReader
from lookout_dashboard.routes.responses import RANGE_ERRORS


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
    page: str = Field(description="The path")
    views: int = Field(description="page_view events whose 15-minute bucket starts in the range")
    visitors: int = Field(
        description="Distinct people (user or anonymous id) who viewed the page on the local "
        "days (LOOKOUT_TIMEZONE) the range touches: per local day granularity, so a range "
        "of a few hours counts the visitors of its whole day(s)"
    )
    load_time_p50: float | None = Field(
        description="Median page load time in ms (UTC-hour resolution, UTC-day beyond 2 "
        "days; within 2.5 %); null without samples"
    )
    load_time_p95: float | None = Field(
        description="95th percentile page load time in ms (UTC-hour resolution, UTC-day "
        "beyond 2 days; within 2.5 %); null without samples"
    )


class EventSeries(Camel):
    range: Range
    points: list[EventPoint]


router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=RANGE_ERRORS)


@router.get("/events", response_model=EventSeries, summary="Events per bucket, by event name")
async def events(
    services: ServicesDep,
    _: Reader,
    start: From = None,
    end: To = None,
    granularity: Gran = Granularity.HOUR,
    event: Annotated[list[str] | None, Query(description="Only these event names")] = None,
) -> EventSeries:
    reader = RangeReader.of(services, *resolve_range(start, end, granularity))
    rows = await reader.local_series(
        f"""
        SELECT {LOCAL_BUCKET} AS bucket, event, sum(events)::bigint AS events
        FROM {reader.event_counts(granularity)} AS counts
        WHERE $5::text[] IS NULL OR event = ANY($5)
        GROUP BY 1, 2 ORDER BY 1, 2
        """,
        granularity,
        event,
    )
    return EventSeries(
        range=reader.range(granularity),
        points=[EventPoint(**dict(row)) for row in rows],
    )


@router.get("/bookings", response_model=Bookings, summary="Booking attempts, completions, rate")
async def bookings(
    services: ServicesDep,
    _: Reader,
    start: From = None,
    end: To = None,
    granularity: Gran = Granularity.HOUR,
) -> Bookings:
    reader = RangeReader.of(services, *resolve_range(start, end, granularity))
    rows = await reader.local_series(
        f"""
        SELECT {LOCAL_BUCKET} AS bucket,
               coalesce(sum(events) FILTER (WHERE event = 'booking_attempt'), 0)::bigint
                 AS attempts,
               coalesce(sum(events) FILTER (WHERE event = 'booking_completed'), 0)::bigint
                 AS completions
        FROM {reader.event_counts(granularity)} AS counts
        WHERE event IN ('booking_attempt', 'booking_completed')
        GROUP BY 1 ORDER BY 1
        """,
        granularity,
    )
    series = [BookingPoint(**dict(row)) for row in rows]
    attempts = sum(point.attempts for point in series)
    completions = sum(point.completions for point in series)
    return Bookings(
        attempts=attempts,
        completions=completions,
        conversion_rate=percent(completions, attempts),
        series=series,
    )


@router.get(
    "/pages",
    response_model=list[PageViews],
    summary="Most viewed pages in the range: views, unique visitors, load time p50/p95",
)
async def pages(
    services: ServicesDep,
    _: Reader,
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=100, description="How many pages")] = 10,
) -> list[PageViews]:
    start, end = resolve_range(start, end, Granularity.DAY)
    reader = RangeReader.of(services, start, end)
    top = await reader.rows(
        """
        SELECT path, sum(views)::bigint AS views FROM rollup_page_views
        WHERE bucket >= $1 AND bucket < $2
        GROUP BY path ORDER BY views DESC, path COLLATE "C" LIMIT $3
        """,
        limit,
    )
    paths = [row["path"] for row in top]
    first_day, last_day = local_days(start, end, reader.zone)
    visitors = await reader.pool.fetch(
        """
        SELECT path, count(DISTINCT actor) AS visitors FROM page_visitors
        WHERE day >= $1 AND day <= $2 AND path = ANY($3::text[])
        GROUP BY path
        """,
        first_day,
        last_day,
        paths,
    )
    load_times = await reader.rows(
        f"""
        SELECT path, bin, sum(n)::bigint AS n FROM {reader.value_samples()} AS samples
        WHERE metric = 'loadTime' AND path = ANY($3::text[])
        GROUP BY path, bin
        """,
        paths,
    )
    seen = {row["path"]: row["visitors"] for row in visitors}
    bins = bins_by(load_times, "path")
    return [
        PageViews(
            page=row["path"],
            views=row["views"],
            visitors=seen.get(row["path"], 0),
            load_time_p50=percentile(bins.get(row["path"], ()), 50),
            load_time_p95=percentile(bins.get(row["path"], ()), 95),
        )
        for row in top
    ]
