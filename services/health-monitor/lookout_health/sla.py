"""The pure core of the SLA report: component rollups in, uptime per calendar month and
over the last 90 and 365 days out, declared maintenance excluded (and shown); and which
rollups make up a rolling window (the checks' 24 h / 7 d / 30 d uptime).

A window of N days is today (so far) and the N - 1 whole UTC days before it. It is read
as whole months from the monthly rollups plus the days before the first whole month from
the daily ones, so a 365-day report reads about 13 + 30 rows per component.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lookout_health.uptime import RETENTION, Resolution, Seconds, bucket_start, next_month

WINDOWS_DAYS = (90, 365)


@dataclass(frozen=True, slots=True)
class RollupRow:
    component: str
    resolution: Resolution
    bucket: datetime
    seconds: Seconds


@dataclass(frozen=True, slots=True)
class WindowPlan:
    """Which rollups make up [start, now): daily ones in [start, split), monthly from split."""

    days: int
    start: datetime
    split: datetime

    def covers(self, row: RollupRow) -> bool:
        if row.resolution is Resolution.DAY:
            return self.start <= row.bucket < self.split
        return row.resolution is Resolution.MONTH and row.bucket >= self.split


def window_plan(now: datetime, days: int) -> WindowPlan:
    start = bucket_start(now, Resolution.DAY) - timedelta(days=days - 1)
    month = bucket_start(start, Resolution.MONTH)
    return WindowPlan(days, start, month if month == start else next_month(month))


# The checks' uptime windows (`/api/v1/health/checks`; the status card reads the last).
UPTIME_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}

STEP = {
    Resolution.MINUTE: timedelta(minutes=1),
    Resolution.HOUR: timedelta(hours=1),
    Resolution.DAY: timedelta(days=1),
}


def rolling_ranges(now: datetime, length: timedelta) -> list[tuple[Resolution, datetime, datetime]]:
    """[now - length, now) as rollup ranges (resolution, from, until): fine rows from the
    window's start, rounded down to a fine bucket, to the first coarse boundary, coarse
    rows from there on (the newest bucket of each holds the time counted so far). Minutes
    then hours for a window the minute rows still cover (48 h), hours then days for longer
    ones: the start is off by less than a minute (24 h) or an hour (7 and 30 days)."""
    minutes_kept = RETENTION[Resolution.MINUTE]
    if minutes_kept is not None and length + STEP[Resolution.HOUR] <= minutes_kept:
        fine, coarse = Resolution.MINUTE, Resolution.HOUR
    else:
        fine, coarse = Resolution.HOUR, Resolution.DAY
    start = bucket_start(now - length, fine)
    split = bucket_start(start, coarse)
    if split < start:
        split += STEP[coarse]
    return [(fine, start, split), (coarse, split, bucket_start(now, coarse) + STEP[coarse])]


def month_starts(now: datetime, months: int) -> list[datetime]:
    """The first instants of the last `months` calendar months, this one last."""
    starts = [bucket_start(now, Resolution.MONTH)]
    while len(starts) < months:
        previous = starts[0] - timedelta(days=1)
        starts.insert(0, bucket_start(previous, Resolution.MONTH))
    return starts


@dataclass(frozen=True, slots=True)
class Period:
    label: str  # "2026-11", "90d" or "365d"
    start: datetime
    end: datetime
    seconds: Seconds


@dataclass(frozen=True, slots=True)
class ComponentSla:
    component: str
    months: list[Period]
    windows: list[Period]


def summarise(
    rows: Iterable[RollupRow], components: Iterable[str], now: datetime, months: int
) -> list[ComponentSla]:
    """Every component's calendar months (oldest first) and 90/365-day windows."""
    plans = [window_plan(now, days) for days in WINDOWS_DAYS]
    starts = month_starts(now, months)
    first_month = starts[0]
    by_month: dict[str, dict[datetime, Seconds]] = {}
    by_window: dict[str, list[Seconds]] = {}
    for row in rows:
        if row.resolution is Resolution.MONTH and row.bucket >= first_month:
            found = by_month.setdefault(row.component, {})
            found[row.bucket] = found.get(row.bucket, Seconds()) + row.seconds
        sums = by_window.setdefault(row.component, [Seconds() for _ in plans])
        for index, plan in enumerate(plans):
            if plan.covers(row):
                sums[index] = sums[index] + row.seconds
    report = []
    for component in sorted(set(components)):
        found = by_month.get(component, {})
        sums = by_window.get(component, [Seconds() for _ in plans])
        report.append(
            ComponentSla(
                component=component,
                months=[
                    Period(
                        start.strftime("%Y-%m"),
                        start,
                        min(next_month(start), now),
                        found.get(start, Seconds()),
                    )
                    for start in starts
                ],
                windows=[
                    Period(f"{plan.days}d", plan.start, now, total)
                    for plan, total in zip(plans, sums, strict=True)
                ],
            )
        )
    return report


def rows_wanted(now: datetime, months: int) -> tuple[datetime, list[tuple[datetime, datetime]]]:
    """(monthly rows from, [daily ranges]) the report needs from the store."""
    plans = [window_plan(now, days) for days in WINDOWS_DAYS]
    monthly_from = min([month_starts(now, months)[0], *(plan.split for plan in plans)])
    return monthly_from, [(plan.start, plan.split) for plan in plans]


CSV_COLUMNS = (
    "component",
    "period",
    "start",
    "end",
    "uptime_pct",
    "up_s",
    "degraded_s",
    "down_s",
    "maintenance_s",
)


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text


def to_csv(report: list[ComponentSla]) -> str:
    """One line per component and period (the months, then the 90- and 365-day windows)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for component in report:
        for period in [*component.months, *component.windows]:
            seconds = period.seconds
            uptime = seconds.uptime_pct
            writer.writerow(
                [
                    spreadsheet_safe(component.component),
                    period.label,
                    period.start.isoformat(),
                    period.end.isoformat(),
                    "" if uptime is None else f"{uptime:.4f}",
                    f"{seconds.up:.0f}",
                    f"{seconds.degraded:.0f}",
                    f"{seconds.down:.0f}",
                    f"{seconds.maintenance:.0f}",
                ]
            )
    return out.getvalue()
