"""What people do on the way to a booking: bookings by service type and location (with
revenue per currency), chat, and search. Each reads rollups only, never the raw events.

A rollup bucket counts when its start lies in [from, to), so a range applies at the
resolution of the table read: minutes (event counts, distinct chats), 15 minutes
(bookings) or UTC hours (searches).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import asyncpg
from fastapi import APIRouter
from pydantic import Field

from lookout_common.contracts.models import Camel
from lookout_common.contracts.search import SEARCH_RESULT_BINS
from lookout_common.infra.auth import Reader
from lookout_dashboard.analysis.rates import percent, ratio
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
from lookout_dashboard.queries.rollups import LOCAL_BUCKET, RangeReader, Top, grouped
from lookout_dashboard.routes.responses import RANGE_ERRORS

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"], responses=RANGE_ERRORS)


# --- bookings by service type and location --------------------------------------------------


class Revenue(Camel):
    currency: str = Field(description="ISO 4217 code ('' = not sent)")
    revenue: Decimal = Field(description="Sum of completed bookings' totalPrice, exact")
    completions: int = Field(description="Completed bookings in this currency")


class BookingTotals(Camel):
    attempts: int = Field(description="booking_attempt events")
    completions: int = Field(description="booking_completed events")
    conversion_rate: float = Field(description="completions / attempts, in %; 0 without attempts")
    revenue: list[Revenue] = Field(
        description="Revenue per currency, by currency code (currencies are never added up)"
    )


class ServiceBookings(BookingTotals):
    service_type: str = Field(description="serviceType ('' = not sent)")


class LocationBookings(BookingTotals):
    location: str = Field(description="location ('' = not sent)")


class BookingBreakdown(BookingTotals):
    range: Span
    by_service_type: list[ServiceBookings] = Field(
        description="The `limit` service types with the most attempts, then completions"
    )
    by_location: list[LocationBookings] = Field(
        description="The `limit` locations with the most attempts, then completions"
    )


# One statement per dimension; the column comes from this allow-list, never from a request.
_BY = {
    dimension: f"""
    WITH cells AS (
        SELECT "{dimension}" AS name, currency, attempts, completions, revenue
        FROM rollup_bookings WHERE bucket >= $1 AND bucket < $2
    ), top AS (
        SELECT name FROM cells GROUP BY name
        ORDER BY sum(attempts) DESC, sum(completions) DESC, name COLLATE "C" LIMIT $3
    )
    SELECT name, currency, sum(attempts)::bigint AS attempts,
           sum(completions)::bigint AS completions, sum(revenue) AS revenue
    FROM cells WHERE name IN (SELECT name FROM top)
    GROUP BY name, currency
    """
    for dimension in ("service_type", "location")
}


def _totals(rows: Iterable[asyncpg.Record]) -> BookingTotals:
    """Totals over (currency, attempts, completions, revenue) rows of one group."""
    rows = sorted(rows, key=lambda row: row["currency"])
    attempts = sum(row["attempts"] for row in rows)
    completions = sum(row["completions"] for row in rows)
    return BookingTotals(
        attempts=attempts,
        completions=completions,
        conversion_rate=percent(completions, attempts),
        revenue=[
            Revenue(
                currency=row["currency"], revenue=row["revenue"], completions=row["completions"]
            )
            for row in rows
            if row["completions"]
        ],
    )


def _grouped(rows: Iterable[asyncpg.Record]) -> list[tuple[str, BookingTotals]]:
    """Totals per group name, most attempts (then completions) first."""
    groups = [(name, _totals(cells)) for name, cells in grouped(rows, "name").items()]
    groups.sort(key=lambda group: (-group[1].attempts, -group[1].completions, group[0]))
    return groups


@router.get(
    "/bookings/breakdown",
    response_model=BookingBreakdown,
    summary="Bookings: attempts, completions, conversion, revenue per currency; by service "
    "type and by location (15-minute resolution)",
)
async def bookings_breakdown(
    services: ServicesDep,
    _: Reader,
    start: From = None,
    end: To = None,
    limit: Top = 20,
) -> BookingBreakdown:
    reader = RangeReader.of(services, *resolve_range(start, end, Granularity.DAY))
    totals = await reader.rows(
        """
        SELECT currency, sum(attempts)::bigint AS attempts,
               sum(completions)::bigint AS completions, sum(revenue) AS revenue
        FROM rollup_bookings WHERE bucket >= $1 AND bucket < $2 GROUP BY currency
        """
    )
    by_type = await reader.rows(_BY["service_type"], limit)
    locations = await reader.rows(_BY["location"], limit)
    return BookingBreakdown(
        **dict(_totals(totals)),
        range=reader.span(),
        by_service_type=[
            ServiceBookings(service_type=name, **dict(group)) for name, group in _grouped(by_type)
        ],
        by_location=[
            LocationBookings(location=name, **dict(group)) for name, group in _grouped(locations)
        ],
    )


# --- chat -----------------------------------------------------------------------------------


class ChatPoint(Camel):
    bucket: datetime = Field(description="Start of the bucket, in LOOKOUT_TIMEZONE")
    chats: int = Field(description="Distinct chats started in the bucket")
    messages: int = Field(description="chat_message_sent events in the bucket")


class Chat(Camel):
    range: Range
    chats: int = Field(description="Distinct chat ids of chat_started events in the range")
    messages: int = Field(description="chat_message_sent events in the range")
    messages_per_session: float = Field(description="messages / chats; 0 without chats")
    series: list[ChatPoint] = Field(
        description="Buckets with any chat or message, oldest first (a chat started in two "
        "buckets counts in each, once in `chats`)"
    )


@router.get(
    "/chat",
    response_model=Chat,
    summary="Chats started, messages sent, messages per chat session, and their series",
)
async def chat(
    services: ServicesDep,
    _: Reader,
    start: From = None,
    end: To = None,
    granularity: Gran = Granularity.HOUR,
) -> Chat:
    reader = RangeReader.of(services, *resolve_range(start, end, granularity))
    # Distinct chats over the range are not the sum of the buckets' (a chat may span two).
    chats = (
        await reader.row(
            "SELECT count(DISTINCT member) AS chats FROM rollup_distinct"
            " WHERE kind = 'chat' AND bucket >= $1 AND bucket < $2"
        )
    )["chats"]
    rows = await reader.local_series(
        f"""
        WITH chats AS (
            SELECT {LOCAL_BUCKET} AS bucket, count(DISTINCT member) AS chats
            FROM rollup_distinct WHERE kind = 'chat' AND bucket >= $1 AND bucket < $2
            GROUP BY 1
        ), messages AS (
            SELECT {LOCAL_BUCKET} AS bucket, sum(events)::bigint AS messages
            FROM {reader.event_counts(granularity)} AS counts
            WHERE event = 'chat_message_sent'
            GROUP BY 1
        )
        SELECT bucket, coalesce(chats, 0) AS chats, coalesce(messages, 0) AS messages
        FROM chats FULL JOIN messages USING (bucket) ORDER BY bucket
        """,
        granularity,
    )
    messages = sum(row["messages"] for row in rows)
    return Chat(
        range=reader.range(granularity),
        chats=chats,
        messages=messages,
        messages_per_session=ratio(messages, chats),
        series=[ChatPoint(**dict(row)) for row in rows],
    )


# --- search ---------------------------------------------------------------------------------

# Counted by the aggregator into these bins; the answer lists them in this order.
RESULT_BINS = tuple(bin_.name for bin_ in SEARCH_RESULT_BINS)


class SearchTerm(Camel):
    term: str = Field(description="The normalised query (lower case, trimmed)")
    searches: int = Field(description="Searches of this term")
    zero_results: int = Field(description="Searches of this term that found nothing")


class FilterUse(Camel):
    filter: str = Field(description="A filter key")
    searches: int = Field(description="Searches that used it")


class ResultsBin(Camel):
    bin: str = Field(description="Results count: " + ", ".join(RESULT_BINS))
    searches: int = Field(description="Searches whose results count is in the bin")


class Search(Camel):
    range: Span
    searches: int = Field(description="search_performed events")
    zero_result_searches: int = Field(description="Searches whose resultsCount was 0")
    zero_result_rate: float = Field(description="zeroResultSearches / searches, in %")
    terms: list[SearchTerm] = Field(description="The `limit` most searched terms")
    filters: list[FilterUse] = Field(description="The `limit` most used filter keys")
    results: list[ResultsBin] = Field(
        description="Searches by results count, every bin in order (searches without a "
        "resultsCount are in none)"
    )


@router.get(
    "/search",
    response_model=Search,
    summary="Search: top terms, zero-result searches, filter usage, results-count "
    "distribution (UTC-hour resolution)",
)
async def search(
    services: ServicesDep, _: Reader, start: From = None, end: To = None, limit: Top = 10
) -> Search:
    reader = RangeReader.of(services, *resolve_range(start, end, Granularity.DAY))
    totals = await reader.row(
        """
        SELECT coalesce(sum(searches), 0)::bigint AS searches,
               coalesce(sum(zero_results), 0)::bigint AS zero_results
        FROM rollup_search_terms WHERE bucket >= $1 AND bucket < $2
        """
    )
    terms = await reader.models(
        SearchTerm,
        """
        SELECT term, sum(searches)::bigint AS searches, sum(zero_results)::bigint AS zero_results
        FROM rollup_search_terms WHERE bucket >= $1 AND bucket < $2
        GROUP BY term ORDER BY searches DESC, term COLLATE "C" LIMIT $3
        """,
        limit,
    )
    filters = await reader.models(
        FilterUse,
        """
        SELECT filter, sum(searches)::bigint AS searches
        FROM rollup_search_filters WHERE bucket >= $1 AND bucket < $2
        GROUP BY filter ORDER BY searches DESC, filter COLLATE "C" LIMIT $3
        """,
        limit,
    )
    binned = await reader.rows(
        """
        SELECT bin, sum(searches)::bigint AS searches
        FROM rollup_search_results WHERE bucket >= $1 AND bucket < $2 GROUP BY bin
        """
    )
    counted = {row["bin"]: row["searches"] for row in binned}
    return Search(
        range=reader.span(),
        searches=totals["searches"],
        zero_result_searches=totals["zero_results"],
        zero_result_rate=percent(totals["zero_results"], totals["searches"]),
        terms=terms,
        filters=filters,
        results=[ResultsBin(bin=bin_, searches=counted.get(bin_, 0)) for bin_ in RESULT_BINS],
    )
