"""The overview metrics, read from the rollups only (never a scan of raw events)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import asyncpg
from pydantic import BaseModel, Field

from lookout_common.contracts.models import Camel
from lookout_dashboard.analysis.rates import percent


class TopPage(BaseModel):
    page: str
    views: int


class DashboardMetrics(Camel):
    """The spec's overview card: what the admin sees first."""

    active_users: int = Field(description="Distinct users or anonymous ids seen in the window")
    today_bookings: int = Field(description="booking_completed events since local midnight")
    chat_sessions: int = Field(description="Distinct chats started since local midnight")
    error_rate: float = Field(description="error_occurred as % of all events, last 24 h")
    top_pages: list[TopPage] = Field(description="The 10 most viewed paths today")


def local_day(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[midnight, next midnight) of `now`'s day in `zone`, as UTC instants."""
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def active_since(now: datetime, active_window_s: int) -> datetime:
    """Where "active users" start counting: the start of the minute `active_window_s` before
    `now` (distinct-member rollups are per minute)."""
    return (now - timedelta(seconds=active_window_s)).replace(second=0, microsecond=0)


async def dashboard_metrics(
    connection: asyncpg.Connection | asyncpg.Pool,
    zone: ZoneInfo,
    active_window_s: int,
    now: datetime | None = None,
) -> DashboardMetrics:
    now = now or datetime.now(UTC)
    day_start, day_end = local_day(now, zone)
    row = await connection.fetchrow(
        """
        SELECT
          (SELECT count(DISTINCT member) FROM rollup_distinct
            WHERE kind = 'actor' AND bucket >= $1 AND bucket <= $2) AS active_users,
          (SELECT coalesce(sum(events), 0) FROM rollup_event_counts
            WHERE event = 'booking_completed' AND bucket >= $3 AND bucket < $4) AS bookings,
          (SELECT count(DISTINCT member) FROM rollup_distinct
            WHERE kind = 'chat' AND bucket >= $3 AND bucket < $4) AS chats,
          (SELECT coalesce(sum(events) FILTER (WHERE event = 'error_occurred'), 0)
             FROM rollup_event_counts WHERE bucket >= $5 AND bucket <= $2) AS errors,
          (SELECT coalesce(sum(events), 0)
             FROM rollup_event_counts WHERE bucket >= $5 AND bucket <= $2) AS events
        """,
        active_since(now, active_window_s),
        now,
        day_start,
        day_end,
        now - timedelta(hours=24),
    )
    pages = await connection.fetch(
        """
        SELECT path, sum(views)::bigint AS views FROM rollup_page_views
        WHERE bucket >= $1 AND bucket < $2
        GROUP BY path ORDER BY views DESC, path LIMIT 10
        """,
        day_start,
        day_end,
    )
    events = row["events"]
    return DashboardMetrics(
        active_users=row["active_users"],
        today_bookings=row["bookings"],
        chat_sessions=row["chats"],
        error_rate=percent(row["errors"], events),
        top_pages=[TopPage(page=page["path"], views=page["views"]) for page in pages],
    )
