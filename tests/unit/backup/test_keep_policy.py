"""What retention keeps: GFS periods, the last N, an age, and incremental chains."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from lookout_backup.keep_policy import RetentionPolicy, RunInfo, decide

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
UTC_ZONE = ZoneInfo("UTC")


def daily_runs(days: int) -> list[RunInfo]:
    return [RunInfo(f"d{n}", NOW - timedelta(days=n), usable=True) for n in range(days)]


def test_no_policy_keeps_every_usable_run_and_drops_failed_ones() -> None:
    runs = [*daily_runs(3), RunInfo("failed", NOW, usable=False)]
    decision = decide(runs, RetentionPolicy(), NOW, UTC_ZONE)
    assert set(decision.keep) == {"d0", "d1", "d2"}
    assert decision.remove == {"failed": "failed or without manifest"}


def test_keep_last_and_daily_weekly_monthly() -> None:
    runs = daily_runs(100)
    policy = RetentionPolicy(keep_last=2, keep_daily=7, keep_weekly=4, keep_monthly=3)
    decision = decide(runs, policy, NOW, UTC_ZONE)
    kept = set(decision.keep)
    assert {f"d{n}" for n in range(7)} <= kept  # 7 daily
    assert "d99" not in kept
    months = {(NOW - timedelta(days=int(r[1:]))).strftime("%Y-%m") for r in kept}
    assert len(months) == 3
    assert decision.keep["d0"] == ["last", "daily", "weekly", "monthly"]
    assert len(kept) + len(decision.remove) == 100


def test_retention_days_keeps_everything_younger() -> None:
    decision = decide(daily_runs(30), RetentionPolicy(retention_days=10), NOW, UTC_ZONE)
    assert set(decision.keep) == {f"d{n}" for n in range(11)}
    assert decision.remove["d20"] == "expired"


def test_base_of_a_kept_incremental_is_never_removed() -> None:
    runs = [
        RunInfo("full", NOW - timedelta(days=40), usable=True),
        RunInfo("inc1", NOW - timedelta(days=39), usable=True, base_run_id="full"),
        RunInfo("inc2", NOW - timedelta(days=1), usable=True, base_run_id="inc1"),
    ]
    decision = decide(runs, RetentionPolicy(keep_last=1), NOW, UTC_ZONE)
    assert set(decision.keep) == {"inc2", "inc1", "full"}
    assert decision.keep["full"] == ["base of inc1"]
    assert decision.remove == {}


def test_days_follow_the_schedule_time_zone() -> None:
    late = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)  # already the 25th in Berlin
    runs = [RunInfo("a", late, usable=True), RunInfo("b", late + timedelta(hours=1), usable=True)]
    berlin = decide(runs, RetentionPolicy(keep_daily=5), NOW, ZoneInfo("Europe/Berlin"))
    utc = decide(runs, RetentionPolicy(keep_daily=5), NOW, UTC_ZONE)
    assert set(berlin.keep) == {"b"}
    assert set(utc.keep) == {"a", "b"}
