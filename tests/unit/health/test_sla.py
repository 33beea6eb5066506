"""The rollup and SLA arithmetic: spans cut into buckets, maintenance left out (and
shown), components in their worst check's state, partial months and windows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from lookout_common.contracts.health_events import CheckStatus
from lookout_health.sla import RollupRow, rolling_ranges, summarise, to_csv, window_plan
from lookout_health.uptime import (
    Resolution,
    RollupKey,
    Scope,
    Seconds,
    UptimeLedger,
    expired_before,
    merge,
    split_span,
)

HEALTHY, DEGRADED, UNHEALTHY = CheckStatus.HEALTHY, CheckStatus.DEGRADED, CheckStatus.UNHEALTHY


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_span_is_cut_at_every_bucket_boundary() -> None:
    found = split_span(at("2026-11-30 23:59:30"), at("2026-12-01 00:00:45"), UNHEALTHY, [])
    assert found[(Resolution.MINUTE, at("2026-11-30 23:59"))] == Seconds(down=30)
    assert found[(Resolution.MINUTE, at("2026-12-01 00:00"))] == Seconds(down=45)
    assert found[(Resolution.HOUR, at("2026-11-30 23:00"))] == Seconds(down=30)
    assert found[(Resolution.DAY, at("2026-12-01"))] == Seconds(down=45)
    assert found[(Resolution.MONTH, at("2026-11-01"))] == Seconds(down=30)
    assert found[(Resolution.MONTH, at("2026-12-01"))] == Seconds(down=45)
    assert len(found) == 8


def test_time_inside_maintenance_is_maintenance_not_down() -> None:
    windows = [(at("2026-12-01 10:00:20"), at("2026-12-01 10:00:50"))]
    found = split_span(at("2026-12-01 10:00"), at("2026-12-01 10:01"), UNHEALTHY, windows)
    minute = found[(Resolution.MINUTE, at("2026-12-01 10:00"))]
    assert minute == Seconds(down=30, maintenance=30)
    assert minute.uptime_pct == 0.0
    assert found[(Resolution.DAY, at("2026-12-01"))].known == 30


def test_overlapping_maintenance_windows_count_once() -> None:
    windows = [
        (at("2026-12-01 10:00"), at("2026-12-01 10:00:40")),
        (at("2026-12-01 10:00:30"), at("2026-12-01 11:00")),
    ]
    found = split_span(at("2026-12-01 10:00"), at("2026-12-01 10:01"), HEALTHY, windows)
    assert found[(Resolution.MINUTE, at("2026-12-01 10:00"))].maintenance == 60


def test_uptime_counts_degraded_as_up_and_ignores_maintenance() -> None:
    seconds = Seconds(up=70, degraded=20, down=10, maintenance=1000)
    assert seconds.uptime_pct == 90.0
    assert Seconds(maintenance=60).uptime_pct is None


def test_a_result_counts_until_the_next_one_at_most_ten_minutes() -> None:
    ledger = UptimeLedger()
    assert ledger.observe("db", "db", UNHEALTHY, at("2026-12-01 10:00")) == {}
    deltas = ledger.observe("db", "db", HEALTHY, at("2026-12-01 11:00"))
    day = RollupKey(Scope.CHECK, "db", Resolution.DAY, at("2026-12-01"))
    # The monitor was silent for an hour: the failure stands for 10 minutes, then nothing.
    assert deltas[day] == Seconds(down=600)
    assert deltas[RollupKey(Scope.COMPONENT, "db", Resolution.DAY, at("2026-12-01"))] == Seconds(
        down=600
    )


def test_a_component_is_in_its_worst_checks_state() -> None:
    ledger = UptimeLedger()
    t0 = at("2026-12-01 10:00")
    ledger.observe("api-eu", "API", HEALTHY, t0)
    deltas: dict[RollupKey, Seconds] = {}
    merge(deltas, ledger.observe("api-us", "API", UNHEALTHY, t0 + timedelta(seconds=10)))
    merge(deltas, ledger.observe("api-eu", "API", HEALTHY, t0 + timedelta(seconds=60)))
    component = RollupKey(Scope.COMPONENT, "API", Resolution.HOUR, at("2026-12-01 10:00"))
    # 0-10 s only api-eu was known (healthy); 10-60 s api-us was down, so the API was.
    assert deltas[component] == Seconds(up=10, down=50)
    check = RollupKey(Scope.CHECK, "api-eu", Resolution.HOUR, at("2026-12-01 10:00"))
    assert deltas[check] == Seconds(up=60)


def test_a_silent_check_stops_counting_for_its_component_and_returns_with_its_next_result() -> None:
    ledger = UptimeLedger()
    t0 = at("2026-12-01 10:00")
    ledger.observe("api-us", "API", UNHEALTHY, t0)
    deltas: dict[RollupKey, Seconds] = {}
    for minute in range(0, 21, 5):  # api-eu keeps reporting; api-us went silent at t0
        merge(deltas, ledger.observe("api-eu", "API", HEALTHY, t0 + timedelta(minutes=minute)))
    merge(deltas, ledger.observe("api-us", "API", UNHEALTHY, t0 + timedelta(minutes=21)))
    merge(deltas, ledger.observe("api-eu", "API", HEALTHY, t0 + timedelta(minutes=22)))
    component = RollupKey(Scope.COMPONENT, "API", Resolution.HOUR, at("2026-12-01 10:00"))
    # Down while api-us was fresh (10 min), then up until it spoke again, then down again.
    assert deltas[component] == Seconds(up=11 * 60, down=11 * 60)


def test_a_check_moved_to_another_component_leaves_the_old_one() -> None:
    ledger = UptimeLedger()
    t0 = at("2026-12-01 10:00")
    ledger.observe("db", "Old", UNHEALTHY, t0)
    deltas = ledger.observe("db", "New", HEALTHY, t0 + timedelta(seconds=30))
    old = RollupKey(Scope.COMPONENT, "Old", Resolution.MINUTE, t0)
    assert deltas[old] == Seconds(down=30)
    later = ledger.observe("db", "New", HEALTHY, t0 + timedelta(seconds=50))
    assert later[RollupKey(Scope.COMPONENT, "New", Resolution.MINUTE, t0)] == Seconds(up=20)
    assert not any(key.name == "Old" for key in later)


def test_a_dropped_check_counts_nothing_until_its_next_result() -> None:
    # Another location counted the check meanwhile: taking over must not count that time.
    ledger = UptimeLedger()
    t0 = at("2026-12-01 10:00")
    ledger.observe("db", "DB", UNHEALTHY, t0)
    ledger.observe("cache", "DB", HEALTHY, t0)
    ledger.drop("db")
    deltas = ledger.observe("db", "DB", HEALTHY, t0 + timedelta(seconds=30))
    assert RollupKey(Scope.CHECK, "db", Resolution.MINUTE, t0) not in deltas
    # Its component counted only cache's state while db was dropped.
    assert deltas[RollupKey(Scope.COMPONENT, "DB", Resolution.MINUTE, t0)] == Seconds(up=30)


def test_retention_of_each_resolution() -> None:
    now = at("2026-12-01 12:00")
    assert expired_before(Resolution.MINUTE, now) == at("2026-11-29 12:00")
    assert expired_before(Resolution.HOUR, now) == now - timedelta(days=90)
    assert expired_before(Resolution.DAY, now) < now - timedelta(days=3 * 365)
    assert expired_before(Resolution.MONTH, now) is None


def test_a_window_reads_whole_months_and_the_days_before_the_first() -> None:
    plan = window_plan(at("2026-12-15 08:00"), 90)
    assert plan.start == at("2026-09-17")
    assert plan.split == at("2026-10-01")
    exact = window_plan(at("2026-12-31 08:00"), 31)
    assert exact.start == exact.split == at("2026-12-01")


def test_sla_report_months_windows_and_partial_buckets() -> None:
    now = at("2026-12-15 12:00")
    rows = [
        # December so far: 1 h down in 10 days, plus a maintenance night
        RollupRow("API", Resolution.MONTH, at("2026-12-01"), Seconds(up=863_000, down=3600)),
        RollupRow("API", Resolution.MONTH, at("2026-11-01"), Seconds(up=2_592_000)),
        RollupRow("API", Resolution.MONTH, at("2026-10-01"), Seconds(up=1000, maintenance=500)),
        # September: the 90-day window starts on the 17th, so only daily rows from it count
        RollupRow("API", Resolution.MONTH, at("2026-09-01"), Seconds(down=99_999)),
        RollupRow("API", Resolution.DAY, at("2026-09-16"), Seconds(down=86_400)),
        RollupRow("API", Resolution.DAY, at("2026-09-17"), Seconds(up=86_000, down=400)),
    ]
    (api, quiet) = summarise(rows, ["API", "Quiet"], now, months=3)
    assert [period.label for period in api.months] == ["2026-10", "2026-11", "2026-12"]
    assert api.months[0].seconds.maintenance == 500
    assert api.months[0].seconds.uptime_pct == 100.0
    assert api.months[-1].end == now
    assert api.months[-1].seconds.uptime_pct == round(100 * 863_000 / 866_600, 4)
    ninety, year = api.windows
    assert ninety.label == "90d"
    assert ninety.start == at("2026-09-17")
    assert ninety.seconds == Seconds(
        up=863_000 + 2_592_000 + 1000 + 86_000, down=4000, maintenance=500
    )
    # The 365-day window starts in December 2025: September is whole, read monthly.
    assert year.seconds.down == 3600 + 99_999
    assert quiet.months[0].seconds.uptime_pct is None


def test_csv_export_has_a_line_per_component_and_period() -> None:
    now = at("2026-12-15 12:00")
    rows = [RollupRow("=cmd", Resolution.MONTH, at("2026-12-01"), Seconds(up=90, down=10))]
    lines = list(csv.DictReader(io.StringIO(to_csv(summarise(rows, ["=cmd"], now, months=2)))))
    assert [line["period"] for line in lines] == ["2026-11", "2026-12", "90d", "365d"]
    assert lines[1]["uptime_pct"] == "90.0000"
    assert lines[1]["down_s"] == "10"
    assert lines[0]["uptime_pct"] == ""
    assert lines[0]["component"] == "'=cmd"  # never a spreadsheet formula


def test_a_rolling_window_is_read_at_the_coarsest_resolution_that_covers_it() -> None:
    minute, hour, day = Resolution.MINUTE, Resolution.HOUR, Resolution.DAY
    now = at("2026-11-25T12:34:56")
    # 24 h: minutes from the start's minute to the next hour, hours from there (the
    # current hour's row holds the time counted so far).
    assert rolling_ranges(now, timedelta(hours=24)) == [
        (minute, at("2026-11-24T12:34"), at("2026-11-24T13:00")),
        (hour, at("2026-11-24T13:00"), at("2026-11-25T13:00")),
    ]
    # 7 and 30 days start before the minute rows' 48 h: hours to the next day, then days.
    assert rolling_ranges(now, timedelta(days=30)) == [
        (hour, at("2026-10-26T12:00"), at("2026-10-27T00:00")),
        (day, at("2026-10-27T00:00"), at("2026-11-26T00:00")),
    ]
    # A window starting on a boundary has nothing to read at the fine resolution.
    on_the_hour = at("2026-11-25T12:00")
    assert rolling_ranges(on_the_hour, timedelta(hours=24))[0] == (
        minute,
        at("2026-11-24T12:00"),
        at("2026-11-24T12:00"),
    )
