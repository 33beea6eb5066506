"""Next run times across DST changes and month ends; what each run makes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from lookout_backup.schedules import default_schedule
from lookout_backup.timetable import PlannedRun, ScheduleSpec, next_run, planned_run
from lookout_common.contracts.backup_api import ScheduleIn
from lookout_common.contracts.backup_events import Retention


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_daily_at_3_in_berlin_winter_and_summer() -> None:
    spec = ScheduleSpec(frequency="daily", hour=3, timezone="Europe/Berlin")
    assert next_run(spec, utc(2026, 1, 10, 12)) == utc(2026, 1, 11, 2)  # CET
    assert next_run(spec, utc(2026, 7, 10, 12)) == utc(2026, 7, 11, 1)  # CEST


def test_time_missing_on_spring_forward_day_runs_at_the_end_of_the_gap() -> None:
    spec = ScheduleSpec(frequency="daily", hour=2, minute=30, timezone="Europe/Berlin")
    # 29 March 2026: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
    run = next_run(spec, utc(2026, 3, 28, 12))
    assert run == utc(2026, 3, 29, 1)  # 03:00 CEST, the first valid minute
    assert next_run(spec, run) == utc(2026, 3, 30, 0, 30)  # back to 02:30 CEST


def test_time_repeated_on_fall_back_day_runs_once() -> None:
    spec = ScheduleSpec(frequency="daily", hour=1, minute=30, timezone="America/New_York")
    # 1 November 2026: 01:30 happens twice (EDT, then EST).
    first = next_run(spec, utc(2026, 10, 31, 12))
    assert first == utc(2026, 11, 1, 5, 30)  # 01:30 EDT
    assert next_run(spec, first) == utc(2026, 11, 2, 6, 30)  # next day, 01:30 EST


def test_weekly_on_sunday_in_sydney_across_its_dst_start() -> None:
    spec = ScheduleSpec(frequency="weekly", hour=4, weekday=6, timezone="Australia/Sydney")
    first = next_run(spec, utc(2026, 9, 30))
    assert first == utc(2026, 10, 3, 17)  # Sun 4 Oct 04:00 AEDT (+11), DST began that night
    assert first.astimezone(__import__("zoneinfo").ZoneInfo("Australia/Sydney")).hour == 4
    assert next_run(spec, first) == utc(2026, 10, 10, 17)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (utc(2026, 1, 31, 12), utc(2026, 2, 28, 1)),  # February: its last day
        (utc(2028, 1, 31, 12), utc(2028, 2, 29, 1)),  # leap year
        (utc(2026, 3, 1), utc(2026, 3, 31, 1)),
        (utc(2026, 4, 1), utc(2026, 4, 30, 1)),
    ],
)
def test_monthly_on_the_31st_runs_on_the_last_day_of_short_months(after, expected) -> None:
    spec = ScheduleSpec(frequency="monthly", hour=1, day_of_month=31)
    assert next_run(spec, after) == expected


def test_next_run_is_strictly_after_the_given_moment() -> None:
    spec = ScheduleSpec(frequency="daily", hour=0)
    assert next_run(spec, utc(2026, 5, 1)) == utc(2026, 5, 2)


def test_incomplete_schedules_are_refused() -> None:
    with pytest.raises(ValidationError, match="weekday"):
        ScheduleSpec(frequency="weekly", hour=1)
    with pytest.raises(ValidationError, match="day_of_month"):
        ScheduleSpec(frequency="monthly", hour=1)


def test_default_schedule_runs_at_3_incremental_on_weekdays_full_and_trial_on_sundays() -> None:
    schedule = default_schedule("Europe/Berlin")
    week = [next_run(schedule, utc(2026, 6, 7, 12))]  # from Sunday 7 June, noon
    for _ in range(6):
        week.append(next_run(schedule, week[-1]))
    local = [due.astimezone(ZoneInfo("Europe/Berlin")) for due in week]
    assert [(d.hour, d.minute) for d in local] == [(3, 0)] * 7  # 01:00 UTC in CEST
    plans = {
        d.strftime("%a"): planned_run(schedule, due) for d, due in zip(local, week, strict=True)
    }
    assert plans["Sun"] == PlannedRun("full", trial_restore=True)
    for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat"):
        assert plans[day] == PlannedRun("incremental", trial_restore=False), day
    assert schedule.collections == []  # every collection
    assert schedule.retention == Retention(retention_days=30)


def test_weekdays_of_a_plan_are_read_in_the_schedules_zone() -> None:
    schedule = default_schedule("Pacific/Auckland")
    # Sunday 03:00 in Auckland (NZST, +12) is Saturday 15:00 UTC.
    due = next_run(schedule, utc(2026, 6, 6, 12))
    assert due == utc(2026, 6, 6, 15)
    assert planned_run(schedule, due) == PlannedRun("full", trial_restore=True)


def test_schedules_without_weekday_rules_plan_what_they_always_did() -> None:
    plain = ScheduleIn(name="plain", frequency="daily", hour=2, trial_restore=True)
    incremental = ScheduleIn(name="inc", frequency="daily", hour=2, backup_type="incremental")
    for day in range(1, 8):  # Monday 1 June to Sunday 7 June 2026
        due = utc(2026, 6, day, 2)
        assert planned_run(plain, due) == PlannedRun("full", trial_restore=True)
        assert planned_run(incremental, due) == PlannedRun("incremental", trial_restore=False)


def test_weekday_rules_that_cannot_apply_are_refused() -> None:
    with pytest.raises(ValidationError, match="full_weekday needs backup_type"):
        ScheduleIn(name="x", frequency="daily", hour=1, full_weekday=6)
    with pytest.raises(ValidationError, match="trial_restore_weekday needs trial_restore"):
        ScheduleIn(name="x", frequency="daily", hour=1, trial_restore_weekday=6)
    with pytest.raises(ValidationError):
        ScheduleIn(name="x", frequency="daily", hour=1, backup_type="incremental", full_weekday=7)
