"""'Today' is the local calendar day of LOOKOUT_TIMEZONE, expressed in UTC instants."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from lookout_dashboard.queries.overview import DashboardMetrics, TopPage, local_day


def test_today_in_berlin_starts_at_local_midnight() -> None:
    start, end = local_day(datetime(2026, 11, 25, 10, 0, tzinfo=UTC), ZoneInfo("Europe/Berlin"))
    assert start == datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)


def test_just_after_utc_midnight_is_still_yesterday_in_new_york() -> None:
    start, end = local_day(datetime(2026, 11, 25, 2, 0, tzinfo=UTC), ZoneInfo("America/New_York"))
    assert start == datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def test_day_of_a_dst_change_is_23_hours_long() -> None:
    start, end = local_day(datetime(2026, 3, 29, 12, 0, tzinfo=UTC), ZoneInfo("Europe/Berlin"))
    assert (end - start).total_seconds() == 23 * 3600


def test_quarter_hour_zone_day_starts_on_a_quarter_hour() -> None:
    start, _ = local_day(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), ZoneInfo("Asia/Kathmandu"))
    assert start == datetime(2026, 11, 24, 18, 15, tzinfo=UTC)
    assert start.minute % 15 == 0  # page-view rollups are 15-minute buckets


def test_metrics_serialise_in_the_spec_camel_case_shape() -> None:
    metrics = DashboardMetrics(
        active_users=3,
        today_bookings=2,
        chat_sessions=1,
        error_rate=12.5,
        top_pages=[TopPage(page="/", views=9)],
    )
    assert metrics.model_dump(by_alias=True) == {
        "activeUsers": 3,
        "todayBookings": 2,
        "chatSessions": 1,
        "errorRate": 12.5,
        "topPages": [{"page": "/", "views": 9}],
    }
