"""How well the product works for people: page performance (Web Vitals and API response
time) and errors. Each reads rollups only, never the raw events.

A rollup bucket counts when its start lies in [from, to), so a range applies at the
resolution of the table read: minutes (event counts) or UTC hours (values, errors).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from fastapi import APIRouter
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
    Span,
    To,
    resolve_range,
)
from lookout_dashboard.queries.rollups import (
    ALL_PAGES,
    LOCAL_BUCKET,
    RangeReader,
    Top,
    grouped,
)
from lookout_dashboard.routes.responses import RANGE_ERRORS

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=RANGE_ERRORS)


# --- performance ----------------------------------------------------------------------------


class Rating(StrEnum):
    GOOD = "good"
    NEEDS_IMPROVEMENT = "needs-improvement"
    POOR = "poor"


# Google's Web Vitals thresholds: good at or below the first, poor above the second.
THRESHOLDS = {
    "lcp": (2500.0, 4000.0),
    "inp": (200.0, 500.0),
    "cls": (0.1, 0.25),
    "ttfb": (800.0, 1800.0),
    "fcp": (1800.0, 3000.0),
}
API_TIME = "apiResponseTime"
METRICS = [*THRESHOLDS, API_TIME]


def rating(metric: str, value: float | None) -> Rating | None:
    """Google's rating of a Web Vital's p75 (None without a value)."""
    if value is None:
        return None
    good, poor = THRESHOLDS[metric]
    if value <= good:
        return Rating.GOOD
    return Rating.POOR if value > poor else Rating.NEEDS_IMPROVEMENT


class Vital(Camel):
    p75: float | None = Field(description="75th percentile (ms; CLS unitless); null: no samples")
    samples: int = Field(description="Measurements in the range")
    rating: Rating | None = Field(description="Google's rating of the p75; null: no samples")


class Timing(Camel):
    p50: float | None = Field(description="Median in ms; null without samples")
    p95: float | None = Field(description="95th percentile in ms; null without samples")
    samples: int = Field(description="Measurements in the range")


class Vitals(Camel):
    lcp: Vital = Field(description="Largest Contentful Paint (good <= 2500 ms, poor > 4000)")
    inp: Vital = Field(description="Interaction to Next Paint (good <= 200 ms, poor > 500)")
    cls: Vital = Field(description="Cumulative Layout Shift (good <= 0.1, poor > 0.25)")
    ttfb: Vital = Field(description="Time to First Byte (good <= 800 ms, poor > 1800)")
    fcp: Vital = Field(description="First Contentful Paint (good <= 1800 ms, poor > 3000)")
    api_response_time: Timing = Field(description="apiResponseTime of performance events")


class PageVitals(Vitals):
    page: str = Field(description="The path ('' = sent without one)")


class Performance(Camel):
    range: Span
    all_pages: Vitals = Field(description="Every page together")
    pages: list[PageVitals] = Field(description="The `limit` pages with the most samples")


def _samples(bins: dict[str, list[tuple[int, int]]]) -> int:
    return sum(n for metric in bins.values() for _, n in metric)


def _vitals(bins: dict[str, list[tuple[int, int]]]) -> dict[str, Vital | Timing]:
    """Each metric's percentiles, sample count and (Web Vitals) rating."""
    found: dict[str, Vital | Timing] = {}
    for metric in THRESHOLDS:
        p75 = percentile(bins.get(metric, ()), 75)
        samples = sum(n for _, n in bins.get(metric, ()))
        found[metric] = Vital(p75=p75, samples=samples, rating=rating(metric, p75))
    api = bins.get(API_TIME, ())
    found["api_response_time"] = Timing(
        p50=percentile(api, 50), p95=percentile(api, 95), samples=sum(n for _, n in api)
    )
    return found


@router.get(
    "/performance",
    response_model=Performance,
    summary="Web Vitals p75 with Google's rating, and API response time p50/p95, per page "
    "and for all pages (UTC-hour resolution, UTC-day beyond 2 days; percentiles within 2.5 %)",
)
async def performance(
    services: ServicesDep, _: Reader, start: From = None, end: To = None, limit: Top = 10
) -> Performance:
    reader = RangeReader.of(services, *resolve_range(start, end, Granularity.DAY))
    everywhere = await reader.rows(
        f"""
        SELECT metric, bin, sum(n)::bigint AS n FROM {reader.value_samples()} AS samples
        WHERE metric = ANY($3::text[]) AND path = $4
        GROUP BY metric, bin
        """,
        METRICS,
        ALL_PAGES,
    )
    per_page = await reader.rows(
        f"""
        WITH samples AS MATERIALIZED (
            SELECT path, metric, bin, sum(n)::bigint AS n FROM {reader.value_samples()} AS samples
            WHERE metric = ANY($3::text[]) AND path <> $5
            GROUP BY path, metric, bin
        ), top AS (
            SELECT path FROM samples
            GROUP BY path ORDER BY sum(n) DESC, path COLLATE "C" LIMIT $4
        )
        SELECT * FROM samples WHERE path IN (SELECT path FROM top)
        """,
        METRICS,
        limit,
        ALL_PAGES,
    )
    pages = {path: bins_by(cells, "metric") for path, cells in grouped(per_page, "path").items()}
    ranked = sorted(pages.items(), key=lambda page: (-_samples(page[1]), page[0]))
    return Performance(
        range=reader.span(),
        all_pages=Vitals(**_vitals(bins_by(everywhere, "metric"))),
        pages=[PageVitals(page=path, **_vitals(bins)) for path, bins in ranked],
    )


# --- errors ---------------------------------------------------------------------------------


class ErrorPoint(Camel):
    bucket: datetime = Field(description="Start of the bucket, in LOOKOUT_TIMEZONE")
    errors: int = Field(description="error_occurred events")
    events: int = Field(description="All events")
    error_rate: float = Field(description="errors / events, in %")


class ErrorGroup(Camel):
    fingerprint: str = Field(description="Same value for every occurrence of one bug")
    type: str = Field(description="The error's type as sent ('' = not sent)")
    message: str = Field(description="A message seen in the first hour it occurred")
    top_frame: str = Field(description="The top stack frame ingest found ('' = none)")
    count: int = Field(description="Occurrences in the range (UTC-hour resolution)")
    first_seen: datetime = Field(description="Start of the first UTC hour it occurred in")
    last_seen: datetime = Field(description="Start of the last UTC hour it occurred in")


class Errors(Camel):
    range: Range
    errors: int = Field(description="error_occurred events in the range")
    events: int = Field(description="All events in the range")
    error_rate: float = Field(description="errors / events, in %; 0 without events")
    series: list[ErrorPoint] = Field(description="Buckets with any event, oldest first")
    top: list[ErrorGroup] = Field(
        description="The `limit` most frequent errors by fingerprint (hours starting in the "
        "range; the other numbers are at minute resolution)"
    )


@router.get(
    "/errors",
    response_model=Errors,
    summary="Errors: count, error rate and series; the most frequent errors by fingerprint",
)
async def errors(
    services: ServicesDep,
    _: Reader,
    start: From = None,
    end: To = None,
    granularity: Gran = Granularity.HOUR,
    limit: Top = 10,
) -> Errors:
    reader = RangeReader.of(services, *resolve_range(start, end, granularity))
    rows = await reader.local_series(
        f"""
        SELECT {LOCAL_BUCKET} AS bucket,
               coalesce(sum(events) FILTER (WHERE event = 'error_occurred'), 0)::bigint
                 AS errors,
               sum(events)::bigint AS events
        FROM {reader.event_counts(granularity)} AS counts
        GROUP BY 1 ORDER BY 1
        """,
        granularity,
    )
    top = await reader.models(
        ErrorGroup,
        """
        SELECT fingerprint, (array_agg(type ORDER BY bucket))[1] AS type,
               (array_agg(message ORDER BY bucket))[1] AS message,
               (array_agg(top_frame ORDER BY bucket))[1] AS top_frame,
               sum(errors)::bigint AS count, min(bucket) AS first_seen,
               max(bucket) AS last_seen
        FROM rollup_errors WHERE bucket >= $1 AND bucket < $2
        GROUP BY fingerprint ORDER BY count DESC, fingerprint COLLATE "C" LIMIT $3
        """,
        limit,
    )
    series = [
        ErrorPoint(**dict(row), error_rate=percent(row["errors"], row["events"])) for row in rows
    ]
    errors_, events = sum(p.errors for p in series), sum(p.events for p in series)
    return Errors(
        range=reader.range(granularity),
        errors=errors_,
        events=events,
        error_rate=percent(errors_, events),
        series=series,
        top=top,
    )
