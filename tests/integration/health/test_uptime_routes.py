"""A real health monitor answers uptime from the uptime rollups alone: `/api/v1/health/checks`
(24 h / 7 d / 30 d) and the status card's 30-day figure (the lowest of the critical
checks'), for checks whose results are only in the rollups, never in system_health_logs.
How the rollups follow the quorum of locations: test_locations_quorum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from lookout_common.contracts.health_events import CheckStatus
from lookout_health import rollup_store
from lookout_health.uptime import RollupKey, Seconds, UptimeLedger, merge

pytestmark = pytest.mark.integration

CONFIG = """checks:
  - {{name: billing, kind: http, url: "{url}", interval_s: 600, timeout_s: 2}}
  - {{name: search, kind: http, url: "{url}", interval_s: 600, timeout_s: 2}}
  - {{name: ledger, kind: http, url: "{url}", interval_s: 600, timeout_s: 2, critical: false}}
"""


async def seed_rollups(dsn: str, down_minutes: dict[str, int]) -> None:
    """Per check, a result a minute over the 10 minutes before the last hour, the first
    `down_minutes[check]` of them unhealthy, counted into the rollups by the writer's own
    ledger: no result row is written."""
    start = datetime.now(UTC) - timedelta(hours=1, minutes=10)
    ledger = UptimeLedger()
    deltas: dict[RollupKey, Seconds] = {}
    for check, down in down_minutes.items():
        for minute in range(11):
            status = CheckStatus.UNHEALTHY if minute < down else CheckStatus.HEALTHY
            at = start + timedelta(minutes=minute)
            merge(deltas, ledger.observe(check, check, status, at))
    connection = await asyncpg.connect(dsn)
    try:
        await rollup_store.add_rollups(connection, deltas)
    finally:
        await connection.close()


async def test_uptime_routes_read_the_rollups(monitor, http_server) -> None:
    monitor.config_path.write_text(CONFIG.format(url=http_server.url))
    await seed_rollups(monitor.settings.dsn(), {"billing": 2, "search": 5, "ledger": 10})
    monitor.start()
    checks = (await monitor.get("/api/v1/health/checks")).json()
    uptime = {check["name"]: check["uptime"] for check in checks}
    assert uptime == {
        "billing": {"24h": 80.0, "7d": 80.0, "30d": 80.0},
        "search": {"24h": 50.0, "7d": 50.0, "30d": 50.0},
        "ledger": {"24h": 0.0, "7d": 0.0, "30d": 0.0},
    }
    # The card: the worst critical check (ledger, down throughout, is not critical).
    status = (await monitor.get("/api/v1/health/status")).json()
    assert status["uptime"] == 50.0
    assert (
        await monitor.rows(
            "SELECT 1 FROM system_health_logs WHERE checked_at < now() - interval '1 hour'"
        )
        == []
    )
