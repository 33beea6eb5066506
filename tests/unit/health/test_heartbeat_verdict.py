"""A heartbeat check's verdict from its stored state: the last ping's status, silence
past period + grace, and the wait for a first ping; and what a ping may say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from lookout_health.checks.base import ProbeFailed
from lookout_health.checks.heartbeat import Beat, Ping, verdict
from lookout_health.config import HeartbeatCheck, parse_config

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHECK = HeartbeatCheck(
    name="nightly-export", kind="heartbeat", period_s=3600, grace_s=300, token="t" * 24
)


def beat(ping_ago_s: float | None, status: str | None = "ok", message: str = "") -> Beat:
    last = None if ping_ago_s is None else NOW - timedelta(seconds=ping_ago_s)
    return Beat(NOW - timedelta(hours=5), last, status if last else None, message)


def test_a_recent_ok_ping_passes_with_its_message() -> None:
    assert (
        verdict(CHECK, beat(600, message="42 rows"), NOW).message == "last ping 10 min ago: 42 rows"
    )


def test_silence_longer_than_period_plus_grace_fails() -> None:
    assert verdict(CHECK, beat(3600 + 300), NOW).message == "last ping 65 min ago"
    with pytest.raises(ProbeFailed, match=r"silent for 65 min \(period 60 min \+ grace 5 min\)"):
        verdict(CHECK, beat(3600 + 301), NOW)


def test_a_ping_that_says_fail_fails_with_its_message() -> None:
    with pytest.raises(ProbeFailed, match="reported a failure: disk full"):
        verdict(CHECK, beat(5, status="fail", message="disk full"), NOW)


def test_before_the_first_ping_silence_counts_from_when_it_was_first_watched() -> None:
    waiting = Beat(NOW - timedelta(minutes=30), None, None, "")
    assert verdict(CHECK, waiting, NOW).message.startswith("waiting for the first ping")
    never = Beat(NOW - timedelta(minutes=66), None, None, "")
    with pytest.raises(ProbeFailed, match="no ping received in 66 min"):
        verdict(CHECK, never, NOW)


def test_heartbeat_checks_open_and_resolve_on_the_first_run_and_keep_the_token_secret() -> None:
    config = parse_config(
        "checks:\n  - {name: backup-cron, kind: heartbeat, period_s: 86400,"
        " token: 0123456789abcdef0123}\n"
    )
    [check] = config.checks
    assert isinstance(check, HeartbeatCheck)
    assert (check.failures_before_incident, check.successes_before_resolve) == (1, 1)
    assert "0123456789abcdef0123" not in repr(check)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"token": "short"}, "token"), ({"period_s": 0}, "period_s"), ({"grace_s": -1}, "grace_s")],
)
def test_a_heartbeat_check_without_a_usable_token_or_period_is_refused(
    changes: dict, field: str
) -> None:
    values = {"name": "job", "kind": "heartbeat", "period_s": 60, "token": "t" * 16}
    with pytest.raises(ValidationError) as refused:
        HeartbeatCheck(**{**values, **changes})
    assert refused.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("message", ["a\nb", "\x1b[31m", "x" * 501])
def test_a_ping_message_is_one_short_line(message: str) -> None:
    with pytest.raises(ValidationError):
        Ping(message=message)
