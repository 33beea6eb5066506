"""Heartbeat (push) checks on a real health monitor: pings keep the check healthy, a
ping that says `fail` opens an incident at once with its message, silence past period +
grace opens one, the next good ping resolves it; a wrong token or an unknown check is
refused, and a hostile message is a 422 naming the field."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.integration

TOKEN = "hb-0123456789abcdef-token"


async def open_incidents(monitor) -> list:
    response = await monitor.get("/api/v1/health/incidents?state=open")
    return [i for i in response.json() if i["check"] == "nightly-export"]


async def latest(monitor) -> dict | None:
    checks = (await monitor.get("/api/v1/health/checks")).json()
    [check] = [c for c in checks if c["name"] == "nightly-export"]
    return check["latest"]


async def test_pings_failures_and_silence_open_and_resolve_incidents(monitor) -> None:
    monitor.config_path.write_text(
        "checks:\n  - {name: nightly-export, kind: heartbeat, period_s: 2, grace_s: 1,"
        f" interval_s: 0.5, token: {TOKEN}}}\n"
    )
    monitor.start()
    url = f"{monitor.service.url}/api/v1/health/heartbeats/nightly-export"
    async with httpx.AsyncClient(timeout=30) as client:
        ok = await client.post(url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200, ok.text
        assert ok.json()["status"] == "ok"

        async def healthy():
            result = await latest(monitor)
            return result if result and result["status"] == "healthy" else None

        assert (await monitor.wait_for(healthy))["message"].startswith("last ping")

        # A GET with the token in the query, as a cron one-liner sends it, saying fail.
        failed = await client.get(
            url, params={"token": TOKEN, "status": "fail", "message": "disk full"}
        )
        assert failed.status_code == 200, failed.text
        [incident] = await monitor.wait_for(lambda: open_incidents(monitor), timeout=10)
        assert "reported a failure: disk full" in incident["message"]

        # The next good ping resolves it.
        await client.post(url, json={"status": "ok", "message": "retried"}, params={"token": TOKEN})

        async def resolved():
            return not await open_incidents(monitor)

        await monitor.wait_for(resolved, timeout=10)

        # Silence: period 2 s + grace 1 s pass without a ping.
        [silent] = await monitor.wait_for(lambda: open_incidents(monitor), timeout=15)
        assert "silent for" in silent["message"]

        # Refusals: no token, a wrong one, an unknown check, a hostile message.
        assert (await client.post(url)).status_code == 401
        wrong = await client.post(url, headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401
        unknown = await client.post(
            f"{monitor.service.url}/api/v1/health/heartbeats/no-such-job", params={"token": TOKEN}
        )
        assert unknown.status_code == 404
        hostile = await client.post(url, params={"token": TOKEN}, json={"message": "a\nb"})
        assert hostile.status_code == 422
        assert hostile.json()["detail"][0]["loc"] == ["body", "message"]
    rows = await monitor.rows(
        "SELECT pings, last_status FROM health_heartbeats WHERE check_name = 'nightly-export'"
    )
    assert [(r["pings"], r["last_status"]) for r in rows] == [(3, "ok")]
