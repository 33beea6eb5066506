"""A location whose verdict was not updated within the quorum window (it stopped running
the check) on a real health monitor: both locations listings mark it `stale`, and its
last failure is not the check's current result in `/api/v1/health/checks`."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

CONFIG = """checks:
  - {{name: billing, kind: http, url: "{url}", interval_s: 600, timeout_s: 2}}
"""


async def seen_minutes_ago(monitor, location: str, status: str, minutes: int) -> None:
    """`location`'s newest result of billing and its verdict, both `minutes` old."""
    await monitor.rows(
        "INSERT INTO system_health_logs (check_name, kind, status, response_time_ms, message,"
        " critical, checked_at, location) VALUES ('billing', 'http', $1, 5.0, $2, true,"
        " now() - make_interval(mins => $3), $2)",
        status,
        location,
        minutes,
    )
    await monitor.rows(
        "INSERT INTO health_location_verdicts (check_name, location, failing, since, updated_at)"
        " VALUES ('billing', $1, $2, now() - interval '1 hour', now() - make_interval(mins => $3))",
        location,
        status == "unhealthy",
        minutes,
    )


async def test_a_location_that_stopped_reporting_is_listed_as_stale(monitor, http_server) -> None:
    monitor.config_path.write_text(CONFIG.format(url=http_server.url))
    # The default quorum window is 5 minutes: old-dc, silent for 8, is stale (within the
    # 10 minutes a result stands for, so only the window makes it so).
    await seen_minutes_ago(monitor, "eu-west", "healthy", 0)
    await seen_minutes_ago(monitor, "old-dc", "unhealthy", 8)
    monitor.start()

    async def billing_latest() -> dict | None:
        checks = (await monitor.get("/api/v1/health/checks")).json()
        return next(c["latest"] for c in checks if c["name"] == "billing")

    latest = await monitor.wait_for(billing_latest)
    assert latest["status"] == "healthy", latest

    one = await monitor.get("/api/v1/health/checks/billing/locations")
    assert one.status_code == 200, one.text
    assert [(e["location"], e["failing"], e["stale"]) for e in one.json()] == [
        ("eu-west", False, False),
        ("old-dc", True, True),
    ]
    every = (await monitor.get("/api/v1/health/locations")).json()
    assert every == {"billing": one.json()}
