"""A real health monitor with LOOKOUT_HEALTH_QUORUM=2 answers uptime as the quorum counts
it: `/api/v1/health/checks` (24 h / 7 d / 30 d) and the status card's 30-day figure, from
three other locations' results for the last 10 minutes."""

from __future__ import annotations

import asyncpg
import pytest

pytestmark = pytest.mark.integration

CONFIG = """checks:
  - {{name: billing, kind: http, url: "{url}", interval_s: 600, timeout_s: 2}}
  - {{name: ledger, kind: http, url: "{url}", interval_s: 600, timeout_s: 2, critical: false}}
"""


async def seed(dsn: str, check: str, unhealthy_at: set[str]) -> None:
    """A result a minute for the last 10 minutes from each of x, y and z: unhealthy from
    the locations in `unhealthy_at`, healthy from the others."""
    rows = [
        (check, "unhealthy" if location in unhealthy_at else "healthy", minutes, location)
        for location in ("x", "y", "z")
        for minutes in range(10, 0, -1)
    ]
    connection = await asyncpg.connect(dsn)
    try:
        await connection.executemany(
            "INSERT INTO system_health_logs (check_name, kind, status, response_time_ms,"
            " message, critical, checked_at, location)"
            " VALUES ($1, 'http', $2, 5.0, '', true, now() - make_interval(mins => $3), $4)",
            rows,
        )
    finally:
        await connection.close()


async def test_uptime_routes_count_a_check_down_only_when_the_quorum_saw_it(
    monitor, http_server
) -> None:
    monitor.config_path.write_text(CONFIG.format(url=http_server.url))
    monitor.env.update(LOOKOUT_HEALTH_LOCATION="a", LOOKOUT_HEALTH_QUORUM="2")
    await seed(monitor.settings.dsn(), "billing", unhealthy_at={"x"})  # x's own network
    await seed(monitor.settings.dsn(), "ledger", unhealthy_at={"x", "y"})
    monitor.start()
    checks = (await monitor.get("/api/v1/health/checks")).json()
    uptime = {check["name"]: check["uptime"] for check in checks}
    # The average over locations would say 66.7 % and 33.3 %; any one location, 0 %.
    assert uptime["billing"] == {"24h": 100.0, "7d": 100.0, "30d": 100.0}
    assert uptime["ledger"]["24h"] == pytest.approx(0.0, abs=0.5)
    # The card counts critical checks only: billing, never down by the quorum.
    status = (await monitor.get("/api/v1/health/status")).json()
    assert status["uptime"] == 100.0
