"""The health monitor against real dependencies: incidents open and resolve, timeouts
are results, restarts never duplicate an incident, config reloads, maintenance."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from pathlib import Path

import httpx
import pytest
from support.kafka import read_topic
from support.resolve import scratch_dir

from lookout_common.contracts.topics import Topic, topic_name
from lookout_devstack.embedded.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


def http_check(name: str, url: str, *, interval: float = 0.3, critical: bool = True) -> str:
    return f"""
  - name: {name}
    kind: http
    url: {url}
    json: [{{path: status, equals: ok}}]
    interval_s: {interval}
    timeout_s: 2
    critical: {str(critical).lower()}
"""


async def open_incidents(monitor) -> list:
    response = await monitor.get("/api/v1/health/incidents?state=open")
    return response.json()


async def test_incident_opens_after_failures_and_resolves_after_recovery(
    monitor, http_server
) -> None:
    monitor.config_path.write_text("checks:" + http_check("auth-service", http_server.url))
    monitor.start()

    async def operational():
        status = (await monitor.get("/api/v1/health/status")).json()
        return status if status["status"] == "operational" else None

    await monitor.wait_for(operational)
    async with httpx.AsyncClient(timeout=10) as client:  # load balancers send no key
        assert (await client.get(f"{monitor.service.url}/api/health")).status_code == 200

    http_server.healthy = False
    incidents = await monitor.wait_for(lambda: open_incidents(monitor))
    assert [(i["check"], i["status"]) for i in incidents] == [("auth-service", "unhealthy")]
    assert "expected 200" in incidents[0]["message"]
    status = (await monitor.get("/api/v1/health/status")).json()
    assert status["status"] == "outage"
    assert status["activeIncidents"] == 1
    assert [issue["service"] for issue in status["criticalIssues"]] == ["auth-service"]
    ietf = await monitor.get("/api/health")
    assert ietf.status_code == 503
    assert ietf.headers["content-type"] == "application/health+json"
    assert ietf.json()["checks"]["auth-service:responseTime"][0]["status"] == "fail"
    # Three failures in a row before the incident: two degraded results came first.
    first = await monitor.rows(
        "SELECT status FROM system_health_logs WHERE check_name = 'auth-service'"
        " AND status <> 'healthy' ORDER BY checked_at LIMIT 3"
    )
    assert [row["status"] for row in first] == ["degraded", "degraded", "unhealthy"]

    http_server.healthy = True

    async def resolved():
        rows = await monitor.rows("SELECT * FROM incidents WHERE resolved_at IS NOT NULL")
        return rows

    rows = await monitor.wait_for(resolved)
    assert len(rows) == 1
    assert rows[0]["check_name"] == "auth-service"
    assert (await monitor.rows("SELECT count(*) AS n FROM incidents"))[0]["n"] == 1
    await monitor.wait_for(operational)

    async def summary_after_the_outage() -> list:
        # Uptime is read from the rollups, written once a second (`rollups.FLUSH_S`): the
        # outage's time reaches them within a second or two of the recovery.
        summary = (await monitor.get("/api/v1/health/checks")).json()
        return summary if summary[0]["uptime"]["24h"] < 100 else []

    summary = await monitor.wait_for(summary_after_the_outage, timeout=10)
    assert [(c["name"], c["kind"], c["critical"]) for c in summary] == [
        ("auth-service", "http", True)
    ]
    assert summary[0]["latest"]["status"] == "healthy"
    uptime = summary[0]["uptime"]
    assert 0 < uptime["24h"] < 100  # it was unhealthy for part of the time
    assert uptime["24h"] == uptime["7d"] == uptime["30d"]
    count = "SELECT count(*) AS n FROM system_health_logs"
    before = (await monitor.rows(count))[0]["n"]
    history = (await monitor.get("/api/v1/health/checks/auth-service/history?hours=1")).json()
    after = (await monitor.rows(count))[0]["n"]  # the check keeps running meanwhile
    assert before <= sum(point["runs"] for point in history) <= after, history
    assert all(point["p95"] >= point["p50"] > 0 for point in history)
    status = (await monitor.get("/api/v1/health/status")).json()
    assert 0 < status["uptime"] < 100

    events = await read_topic(
        monitor.settings.kafka_bootstrap,
        topic_name(Topic.HEALTH_INCIDENTS, monitor.settings.topic_prefix),
        expect=2,
    )
    actions = [e["action"] for e in events]
    # The first success while open is recorded as an update (recovering), then resolved.
    assert actions[0] == "opened"
    assert actions[-1] == "resolved"
    assert actions.count("opened") == actions.count("resolved") == 1
    assert events[-1]["duration_s"] > 0
    assert {e["incident_id"] for e in events} == {rows[0]["id"]}
    checks = await read_topic(
        monitor.settings.kafka_bootstrap,
        topic_name(Topic.HEALTH_CHECKS, monitor.settings.topic_prefix),
        expect=6,
        settle=0.1,
    )
    assert {"service", "status", "responseTime", "message", "timestamp"} <= set(checks[0])


async def test_hanging_tcp_check_times_out_on_time_and_other_checks_keep_their_schedule(
    monitor, http_server
) -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def never_answer(reader, writer) -> None:
        accepted.append(writer)  # accept the connection, then say nothing at all

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    monitor.config_path.write_text(
        f"""checks:
  - name: ledger-socket
    kind: tcp
    host: 127.0.0.1
    port: {port}
    send: "PING\\n"
    expect: PONG
    timeout_s: 0.7
    interval_s: 0.5
"""
        + http_check("auth-service", http_server.url, interval=0.25)
    )
    try:
        monitor.start()
        started = time.monotonic()
        await asyncio.sleep(3.0)

        async def timed_out():
            return await monitor.rows(
                "SELECT * FROM system_health_logs WHERE check_name = 'ledger-socket'"
            )

        rows = await monitor.wait_for(timed_out)
        assert all(row["message"] == "timed out after 0.7 s" for row in rows)
        assert all(650 <= row["response_time_ms"] <= 1000 for row in rows), [
            row["response_time_ms"] for row in rows
        ]
        assert rows[0]["status"] == "degraded"
        http_rows = await monitor.rows(
            "SELECT checked_at FROM system_health_logs WHERE check_name = 'auth-service'"
            " ORDER BY checked_at"
        )
        elapsed = time.monotonic() - started
        # Scheduled every 0.25 s whatever the hanging socket does.
        assert len(http_rows) >= int(elapsed / 0.25) - 6
        gaps = [
            (b["checked_at"] - a["checked_at"]).total_seconds()
            for a, b in itertools.pairwise(http_rows)
        ]
        assert max(gaps) < 0.6, gaps
    finally:
        for writer in accepted:
            writer.close()
        silent.close()


async def test_restarted_monitor_keeps_its_one_open_incident(monitor, http_server) -> None:
    http_server.healthy = False
    monitor.config_path.write_text("checks:" + http_check("auth-service", http_server.url))
    monitor.start()
    await monitor.wait_for(lambda: open_incidents(monitor))

    monitor.restart()
    await asyncio.sleep(2.0)  # several more failing runs in the new process
    rows = await monitor.rows("SELECT id, resolved_at FROM incidents")
    assert len(rows) == 1
    assert rows[0]["resolved_at"] is None

    http_server.healthy = True

    async def resolved():
        return (await monitor.rows("SELECT resolved_at FROM incidents"))[0]["resolved_at"]

    await monitor.wait_for(resolved)
    assert len(await monitor.rows("SELECT id FROM incidents")) == 1


async def test_config_reloads_and_an_invalid_change_keeps_the_last_good_config(
    monitor, http_server
) -> None:
    monitor.config_path.write_text("checks:" + http_check("auth-service", http_server.url))
    monitor.start()
    monitor.config_path.write_text(
        "checks:"
        + http_check("auth-service", http_server.url)
        + http_check("payments", http_server.url, critical=False)
    )

    async def reloaded():
        state = (await monitor.get("/api/v1/health/config")).json()
        return state if state["checks"] == ["auth-service", "payments"] else None

    await monitor.wait_for(reloaded)
    await monitor.wait_for(
        lambda: monitor.rows("SELECT 1 FROM system_health_logs WHERE check_name = 'payments'")
    )

    monitor.config_path.write_text("checks:\n  - name: payments\n    kind: http\n    url: nope\n")

    async def refused():
        state = (await monitor.get("/api/v1/health/config")).json()
        return state if state["error"] else None

    state = await monitor.wait_for(refused)
    assert state["error"] == {
        "file": str(monitor.config_path),
        "line": 4,
        "reason": "checks.0.url: Value error, url must start with http:// or https://",
    }
    assert state["checks"] == ["auth-service", "payments"]
    before = len(await monitor.rows("SELECT 1 FROM system_health_logs"))
    await asyncio.sleep(1.0)
    assert len(await monitor.rows("SELECT 1 FROM system_health_logs")) > before + 3


async def test_postgres_stopped_then_started_opens_and_resolves_an_incident(monitor) -> None:
    directory = scratch_dir("lookout-test-watched-pg-")
    watched = EmbeddedPostgres(Path(directory) / "data", durable=False)
    url = watched.start()
    try:
        monitor.config_path.write_text(
            f"""checks:
  - name: marketplace-db
    kind: postgres
    dsn: {url}
    interval_s: 0.3
    timeout_s: 2
"""
        )
        monitor.start()
        results = await monitor.wait_for(
            lambda: monitor.rows("SELECT message FROM system_health_logs WHERE status = 'healthy'")
        )
        assert results[0]["message"].startswith("Connected successfully. Found ")
        watched.stop()
        incidents = await monitor.wait_for(lambda: open_incidents(monitor))
        assert incidents[0]["check"] == "marketplace-db"
        watched.start()

        async def resolved():
            return await monitor.rows("SELECT 1 FROM incidents WHERE resolved_at IS NOT NULL")

        await monitor.wait_for(resolved, timeout=30)
    finally:
        with contextlib.suppress(Exception):
            watched.stop()


async def test_maintenance_window_holds_status_and_marks_incidents_and_keys_are_enforced(
    monitor, http_server
) -> None:
    monitor.config_path.write_text("checks:" + http_check("auth-service", http_server.url))
    monitor.start()
    assert (await monitor.get("/api/v1/health/status", key="not-a-key")).status_code == 401
    assert (await monitor.get("/api/v1/health/status", key=monitor.viewer_key)).status_code == 200
    refused = await monitor.post("/api/v1/health/checks/run", key=monitor.viewer_key)
    assert refused.status_code == 403

    ran = await monitor.post("/api/v1/health/checks/run", {"check": "auth-service"})
    assert ran.status_code == 200
    assert [(r["service"], r["status"]) for r in ran.json()] == [("auth-service", "healthy")]
    assert (await monitor.post("/api/v1/health/checks/run", {"check": "nope"})).status_code == 404

    window = await monitor.post(
        "/api/v1/health/maintenance",
        {
            "startsAt": "2000-01-01T00:00:00Z",
            "endsAt": "2100-01-01T00:00:00Z",
            "reason": "database upgrade",
        },
    )
    assert window.status_code == 201
    assert window.json()["createdBy"] == "sre"
    http_server.healthy = False
    await monitor.wait_for(lambda: open_incidents(monitor))
    status = (await monitor.get("/api/v1/health/status")).json()
    assert status["status"] == "maintenance"
    events = await read_topic(
        monitor.settings.kafka_bootstrap,
        topic_name(Topic.HEALTH_INCIDENTS, monitor.settings.topic_prefix),
        expect=1,
    )
    assert events[0]["action"] == "opened"
    assert events[0]["in_maintenance"] is True

    deleted = await monitor.rows("SELECT id FROM maintenance_windows")
    async with httpx.AsyncClient() as client:
        gone = await client.delete(
            f"{monitor.service.url}/api/v1/health/maintenance/{deleted[0]['id']}",
            headers={"Authorization": f"Bearer {monitor.admin_key}"},
        )
    assert gone.status_code == 204
    assert (await monitor.get("/api/v1/health/status")).json()["status"] == "outage"
