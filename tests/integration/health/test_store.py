"""The health monitor's SQL against a real Postgres: the current results, response-time
percentiles, one open incident per check and maintenance windows, on known rows (uptime:
test_rolling_uptime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from lookout_common.contracts.health_events import CheckResult, CheckStatus
from lookout_health.store import incidents as incident_store
from lookout_health.store import results as result_store

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
HEALTHY, DEGRADED, UNHEALTHY = CheckStatus.HEALTHY, CheckStatus.DEGRADED, CheckStatus.UNHEALTHY


def minutes_ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


async def record(
    db: asyncpg.Connection,
    check: str,
    runs: list[tuple[float, CheckStatus]],
    *,
    critical: bool = True,
    response_time_ms: float = 5.0,
    location: str = "default",
) -> None:
    """Insert one result per (minutes ago, status), probed from `location`."""
    for ago, status in runs:
        await result_store.insert_result(
            db,
            CheckResult(
                service=check,
                status=status,
                response_time_ms=response_time_ms,
                message=status.value,
                timestamp=minutes_ago(ago),
                kind="http",
                critical=critical,
                location=location,
            ),
        )


async def test_history_gives_runs_and_response_time_percentiles_per_bucket(db) -> None:
    for ago, ms in [(9, 10.0), (8, 20.0), (7, 30.0), (6, 40.0)]:
        await record(db, "auth", [(ago, HEALTHY)], response_time_ms=ms)
    await record(db, "auth", [(2, UNHEALTHY)], response_time_ms=500.0)
    await record(db, "other", [(2, HEALTHY)], response_time_ms=1.0)
    rows = await result_store.response_time_history(
        db, "auth", minutes_ago(10), timedelta(minutes=5)
    )
    buckets = [(row["bucket"], row["runs"], row["healthy"], row["p50"], row["p95"]) for row in rows]
    assert buckets == [
        (minutes_ago(10), 4, 4, 25.0, pytest.approx(38.5)),
        (minutes_ago(5), 1, 0, 500.0, 500.0),
    ]


async def test_latest_results_give_the_newest_run_of_each_named_check(db) -> None:
    await record(db, "auth", [(3, UNHEALTHY), (1, HEALTHY)])
    await record(db, "db", [(2, DEGRADED)])
    latest = await result_store.latest_results(db, ["db", "auth", "never-ran"], 300.0)
    assert [(r.service, r.status, r.timestamp) for r in latest] == [
        ("auth", HEALTHY, minutes_ago(1)),
        ("db", DEGRADED, minutes_ago(2)),
    ]


async def test_latest_results_count_a_location_only_while_its_verdict_is_current(db) -> None:
    await record(db, "auth", [(2, HEALTHY)], location="eu")
    await record(db, "auth", [(3, UNHEALTHY)], location="us")
    for location, age_min in (("eu", 1), ("us", 6)):
        await db.execute(
            "INSERT INTO health_location_verdicts (check_name, location, failing, since,"
            " updated_at) VALUES ('auth', $1, false, now(), now() - make_interval(mins => $2))",
            location,
            age_min,
        )
    # us last reported 6 minutes ago: stale in a 5-minute quorum window, so its failure
    # is not the check's current result; in a 10-minute window it would be.
    [current] = await result_store.latest_results(db, ["auth"], 300.0)
    assert (current.location, current.status) == ("eu", HEALTHY)
    [current] = await result_store.latest_results(db, ["auth"], 600.0)
    assert (current.location, current.status) == ("us", UNHEALTHY)


async def test_only_one_incident_per_check_is_open_and_a_new_one_may_follow_resolution(
    db,
) -> None:
    row, opened = await incident_store.open_incident(
        db, "auth", critical=True, status=UNHEALTHY, message="HTTP 500", at=minutes_ago(5)
    )
    assert opened
    again, opened_again = await incident_store.open_incident(
        db, "auth", critical=True, status=UNHEALTHY, message="HTTP 502", at=minutes_ago(4)
    )
    assert (opened_again, again["id"]) == (False, row["id"])
    with pytest.raises(asyncpg.UniqueViolationError):
        await db.execute(
            "INSERT INTO incidents (check_name, critical, status, message, opened_at,"
            " updated_at) VALUES ('auth', true, 'unhealthy', 'x', now(), now())"
        )

    updated = await incident_store.update_incident(
        db, "auth", status=DEGRADED, message="recovering", at=minutes_ago(2)
    )
    assert updated["resolved_at"] is None
    resolved = await incident_store.update_incident(
        db, "auth", status=HEALTHY, message="HTTP 200", at=minutes_ago(1), resolve=True
    )
    assert resolved["resolved_at"] == minutes_ago(1)
    assert [u["message"] for u in resolved["updates"]] == ["HTTP 500", "recovering", "HTTP 200"]
    assert await incident_store.open_incident_checks(db) == set()
    assert (
        await incident_store.update_incident(db, "auth", status=HEALTHY, message="", at=NOW) is None
    )

    _, reopened = await incident_store.open_incident(
        db, "auth", critical=True, status=UNHEALTHY, message="HTTP 500", at=NOW
    )
    assert reopened
    assert await incident_store.open_incident_checks(db) == {"auth"}
    assert [r["id"] for r in await incident_store.incidents(db, state="resolved", limit=10)] == [
        row["id"]
    ]
    assert len(await incident_store.incidents(db, state=None, limit=10)) == 2


async def test_a_maintenance_window_is_active_from_its_start_until_just_before_its_end(
    db,
) -> None:
    window = await incident_store.add_maintenance(db, minutes_ago(10), NOW, "db upgrade", "sre")
    assert (await incident_store.active_maintenance(db, minutes_ago(10)))["id"] == window["id"]
    assert (await incident_store.active_maintenance(db, minutes_ago(0.01)))[
        "reason"
    ] == "db upgrade"
    assert await incident_store.active_maintenance(db, NOW) is None
    assert await incident_store.active_maintenance(db, minutes_ago(11)) is None
    assert [w["id"] for w in await incident_store.maintenance_windows(db, minutes_ago(5))] == [
        window["id"]
    ]
    assert await incident_store.maintenance_windows(db, NOW + timedelta(seconds=1)) == []
    assert await incident_store.delete_maintenance(db, window["id"])
    assert not await incident_store.delete_maintenance(db, window["id"])
