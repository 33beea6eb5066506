"""Who is using the product: the realtime numbers, active people per local day, week or
month, and where located events come from. Each reads rollups or bounded per-person state,
never the raw events.

A rollup bucket counts when its start lies in [from, to), so a range applies at the
resolution of the table read: minutes (event counts, distinct members), UTC hours
(geography) or local days and periods (active people), the latter in LOOKOUT_TIMEZONE as
the aggregator stored them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from lookout_common.contracts.models import Camel
from lookout_common.infra.auth import Reader
from lookout_dashboard.analysis.rates import percent
from lookout_dashboard.bootstrap import ServicesDep
from lookout_dashboard.queries.overview import active_since
from lookout_dashboard.queries.ranges import (
    From,
    Granularity,
    Span,
    To,
    local_days,
    resolve_bounded,
    resolve_range,
)
from lookout_dashboard.queries.rollups import RangeReader, Top
from lookout_dashboard.routes.responses import RANGE_ERRORS

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=RANGE_ERRORS)


# --- realtime -----------------------------------------------------------------------------


class MinuteCount(Camel):
    minute: datetime = Field(description="Start of the UTC minute")
    events: int = Field(description="Events in that minute")


class Realtime(Camel):
    at: datetime = Field(description="The instant these numbers are for (the server's now)")
    active_users: int = Field(
        description="Distinct people (user or anonymous id) seen since the start of the "
        "minute LOOKOUT_ACTIVE_WINDOW_S before `at`"
    )
    dau: int = Field(description="People whose last event is at most 24 h before `at`")
    wau: int = Field(description="People whose last event is at most 7 days before `at`")
    mau: int = Field(description="People whose last event is at most 30 days before `at`")
    events_per_minute: int = Field(description="Events in the last full minute")
    last_hour: list[MinuteCount] = Field(
        description="Events in each of the last 60 full minutes, oldest first (always 60)"
    )
    error_rate: float = Field(
        description="error_occurred events as a % of all events in the last 60 full minutes"
    )


@router.get(
    "/realtime",
    response_model=Realtime,
    summary="Now: active users, DAU/WAU/MAU, events per minute, error rate of the last hour",
)
async def realtime(services: ServicesDep, _: Reader) -> Realtime:
    at = datetime.now(UTC)
    minute = at.replace(second=0, microsecond=0)
    hour_ago = minute - timedelta(hours=1)
    pool = services.pool
    people = await pool.fetchrow(
        """
        SELECT
          (SELECT count(DISTINCT member) FROM rollup_distinct
            WHERE kind = 'actor' AND bucket >= $1 AND bucket <= $2) AS active,
          count(*) FILTER (WHERE last_seen >= $3) AS dau,
          count(*) FILTER (WHERE last_seen >= $4) AS wau,
          count(*) AS mau
        FROM analytics_people WHERE last_seen >= $5
        """,
        active_since(at, services.settings.active_window_s),
        at,
        at - timedelta(days=1),
        at - timedelta(days=7),
        at - timedelta(days=30),
    )
    rows = await pool.fetch(
        """
        SELECT bucket, sum(events)::bigint AS events,
               coalesce(sum(events) FILTER (WHERE event = 'error_occurred'), 0)::bigint AS errors
        FROM rollup_event_counts WHERE bucket >= $1 AND bucket < $2
        GROUP BY bucket
        """,
        hour_ago,
        minute,
    )
    counted = {row["bucket"]: row["events"] for row in rows}
    minutes = [hour_ago + timedelta(minutes=i) for i in range(60)]
    last_hour = [MinuteCount(minute=m, events=counted.get(m, 0)) for m in minutes]
    return Realtime(
        at=at,
        active_users=people["active"],
        dau=people["dau"],
        wau=people["wau"],
        mau=people["mau"],
        events_per_minute=last_hour[-1].events,
        last_hour=last_hour,
        error_rate=percent(sum(row["errors"] for row in rows), sum(counted.values())),
    )


# --- active people per period ---------------------------------------------------------------


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


PERIOD_RANGE = {
    Period.DAY: timedelta(days=2 * 366),
    Period.WEEK: timedelta(days=5 * 366),
    Period.MONTH: timedelta(days=10 * 366),
}


class ActivePoint(Camel):
    start: date = Field(description="First local day of the period (a Monday for weeks)")
    actives: int = Field(description="Distinct people (user or anonymous id) active in it")


class ActiveSeries(Camel):
    range: Span
    granularity: Period
    points: list[ActivePoint] = Field(description="Periods with anyone active, oldest first")


def _period_start(day: date, period: Period) -> date:
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return day


@router.get(
    "/active",
    response_model=ActiveSeries,
    summary="Active people per local day, ISO week or month (every period the range touches)",
)
async def active(
    services: ServicesDep,
    _: Reader,
    start: From = None,
    end: To = None,
    granularity: Annotated[
        Period, Query(description="day (up to 2 years), week (5), month (10)")
    ] = Period.DAY,
) -> ActiveSeries:
    start, end = resolve_bounded(start, end, PERIOD_RANGE[granularity], f"a {granularity} series")
    reader = RangeReader.of(services, start, end)
    first, last = local_days(start, end, reader.zone)
    rows = await reader.pool.fetch(
        """
        SELECT start, actives FROM rollup_active_totals
        WHERE period = $1 AND start >= $2 AND start <= $3 ORDER BY start
        """,
        granularity.value,
        _period_start(first, granularity),
        last,
    )
    return ActiveSeries(
        range=reader.span(),
        granularity=granularity,
        points=[ActivePoint(start=row["start"], actives=row["actives"]) for row in rows],
    )


# --- geography ------------------------------------------------------------------------------


class Country(Camel):
    country: str = Field(description="Country code as located at ingest")
    events: int = Field(description="Located events from it")
    share: float = Field(description="Share of all located events in the range, in %")


class City(Camel):
    country: str = Field(description="Country code")
    city: str = Field(description="City name")
    events: int = Field(description="Located events from it")


class Geography(Camel):
    range: Span
    events: int = Field(description="Located events (sent with geo consent) in the range")
    countries: list[Country] = Field(description="The `limit` countries with most events")
    cities: list[City] = Field(description="The `limit` known cities with most events")


@router.get(
    "/geography",
    response_model=Geography,
    summary="Events by country and city, from events with geo consent (UTC-hour resolution)",
)
async def geography(
    services: ServicesDep, _: Reader, start: From = None, end: To = None, limit: Top = 20
) -> Geography:
    reader = RangeReader.of(services, *resolve_range(start, end, Granularity.DAY))
    countries = await reader.rows(
        """
        SELECT country, sum(events)::bigint AS events, sum(sum(events)) OVER ()::bigint AS total
        FROM rollup_geo WHERE bucket >= $1 AND bucket < $2
        GROUP BY country ORDER BY events DESC, country COLLATE "C" LIMIT $3
        """,
        limit,
    )
    cities = await reader.models(
        City,
        """
        SELECT country, city, sum(events)::bigint AS events
        FROM rollup_geo WHERE bucket >= $1 AND bucket < $2 AND city <> ''
        GROUP BY country, city
        ORDER BY events DESC, country COLLATE "C", city COLLATE "C" LIMIT $3
        """,
        limit,
    )
    total = countries[0]["total"] if countries else 0
    return Geography(
        range=reader.span(),
        events=total,
        countries=[
            Country(
                country=row["country"], events=row["events"], share=percent(row["events"], total)
            )
            for row in countries
        ],
        cities=cities,
    )
