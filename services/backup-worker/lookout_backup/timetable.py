"""The pure core of timing: a schedule and a moment in, the next run time out (and what
a run due then makes: full or incremental, with or without a trial restore).

Times are wall-clock times in the schedule's zone. A time that does not exist on a
spring-forward day runs at the first valid minute after the gap; a time that occurs
twice on a fall-back day runs once (at its first occurrence). A monthly run on day 31
runs on the last day of shorter months.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lookout_common.contracts.backup_api import ScheduleIn, ScheduleSpec


def _instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock `at` on `day`, moved past a DST gap if needed."""
    local = datetime.combine(day, at)
    for shift in range(0, 24 * 60):
        candidate = (local + timedelta(minutes=shift)).replace(tzinfo=zone, fold=0)
        instant = candidate.astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == candidate.replace(tzinfo=None):
            return instant
    raise ValueError(f"no valid local time after {local} in {zone}")


def _days(spec: ScheduleSpec, start: date) -> Iterator[date]:
    """Candidate days from `start` on, in order."""
    day = start
    while True:
        if spec.frequency == "daily":
            yield day
        elif spec.frequency == "weekly":
            if day.weekday() == spec.weekday:
                yield day
        else:
            last = calendar.monthrange(day.year, day.month)[1]
            wanted = last if spec.day_of_month is None else min(spec.day_of_month, last)
            if day.day == wanted:
                yield day
        day += timedelta(days=1)


def next_run(spec: ScheduleSpec, after: datetime) -> datetime:
    """The first scheduled instant strictly after `after` (UTC)."""
    zone = ZoneInfo(spec.timezone)
    at = time(spec.hour, spec.minute)
    start = after.astimezone(zone).date() - timedelta(days=1)
    for day in _days(spec, start):
        instant = _instant(day, at, zone)
        if instant > after:
            return instant
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class PlannedRun:
    backup_type: str  # "full" or "incremental"
    trial_restore: bool


def planned_run(schedule: ScheduleIn, due: datetime) -> PlannedRun:
    """What the run due at `due` makes; weekdays are read in the schedule's zone."""
    weekday = due.astimezone(ZoneInfo(schedule.timezone)).weekday()
    full = schedule.backup_type == "full" or schedule.full_weekday == weekday
    trial = schedule.trial_restore and schedule.trial_restore_weekday in (None, weekday)
    return PlannedRun("full" if full else "incremental", trial)
