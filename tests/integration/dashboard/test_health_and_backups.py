"""dashboard-api in front of the real health monitor and backup worker: reads go
through their APIs with the caller's key, actions go to the workers (backups as Kafka
commands) and every admin action lands in the audit log."""

from __future__ import annotations

import asyncpg
import httpx
import pytest
from support.locations import seen_from
from support.wait import eventually

pytestmark = pytest.mark.integration


def client(dashboard, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=dashboard.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )


async def test_health_reads_and_run_now_go_through_the_monitor(stack) -> None:
    dashboard, admin, viewer, _ = stack
    async with client(dashboard, viewer) as as_viewer:
        refused = await as_viewer.post("/api/v1/health/checks/run")
        assert refused.status_code == 403
    async with client(dashboard, admin) as as_admin:
        ran = await as_admin.post("/api/v1/health/checks/run", json={"check": "lookout-db"})
        assert ran.status_code == 200
        [result] = ran.json()
        assert result["service"] == "lookout-db"
        assert result["status"] == "healthy"
        status = (await as_admin.get("/api/v1/health/status")).json()
        assert status["status"] == "operational"
        checks = (await as_admin.get("/api/v1/health/checks")).json()
        assert [c["name"] for c in checks] == ["lookout-db"]
        missing = await as_admin.get("/api/v1/health/checks/nope/history")
        assert missing.status_code == 404
        audit = (await as_admin.get("/api/v1/audit")).json()
    assert audit[0]["actor"] == "sre on call"
    assert audit[0]["action"] == "health.run_checks"
    assert audit[0]["target"] == "lookout-db"
    assert audit[0]["outcome"] == "ok"
    async with client(dashboard, viewer) as as_viewer:
        assert (await as_viewer.get("/api/v1/audit")).status_code == 403


async def test_what_each_location_saw_of_a_check_and_of_every_check_is_relayed(stack) -> None:
    dashboard, _, viewer, worker = stack
    await seen_from(
        worker.env["LOOKOUT_DATABASE_URL"],
        "lookout-db",
        {"eu-west": ("healthy", False), "us-east": ("unhealthy", True)},
    )
    async with client(dashboard, viewer) as as_viewer:
        located = await as_viewer.get("/api/v1/health/checks/lookout-db/locations")
        assert located.status_code == 200, located.text
        missing = await as_viewer.get("/api/v1/health/checks/nope/locations")
        assert missing.status_code == 404
    seen = [
        (entry["location"], entry["failing"], entry["latest"]["status"], entry["latest"]["message"])
        for entry in located.json()
    ]
    assert seen == [
        ("eu-west", False, "healthy", "seen from eu-west"),
        ("us-east", True, "unhealthy", "seen from us-east"),
    ]
    assert all(entry["since"] is not None for entry in located.json())
    async with client(dashboard, viewer) as as_viewer:
        every = await as_viewer.get("/api/v1/health/locations")
        assert every.status_code == 200, every.text
        assert every.json() == {"lookout-db": located.json()}
        # Every `check` is relayed, not only the last: the unknown first one is refused.
        unknown = await as_viewer.get(
            "/api/v1/health/locations", params=[("check", "nope"), ("check", "lookout-db")]
        )
        assert (unknown.status_code, unknown.json()["detail"]) == (404, "no check named 'nope'")
        malformed = await as_viewer.get("/api/v1/health/locations", params={"check": "No!"})
        assert malformed.status_code == 422
        assert malformed.json()["detail"][0]["loc"] == ["query", "check", 0]
        too_many = await as_viewer.get(
            "/api/v1/health/locations", params=[("check", "lookout-db")] * 101
        )
        assert too_many.status_code == 422
        assert too_many.json()["detail"][0]["loc"] == ["query", "check"]


async def test_maintenance_windows_and_check_names_are_relayed_and_audited(stack) -> None:
    dashboard, admin, viewer, _ = stack
    window = {
        "startsAt": "2030-01-01T00:00:00Z",
        "endsAt": "2030-01-01T02:00:00Z",
        "reason": "Postgres upgrade",
    }
    async with client(dashboard, viewer) as as_viewer:
        assert (await as_viewer.post("/api/v1/health/maintenance", json=window)).status_code == 403
    async with client(dashboard, admin) as as_admin:
        added = await as_admin.post("/api/v1/health/maintenance", json=window)
        assert added.status_code == 201, added.text
        window_id = added.json()["id"]
        listed = (await as_admin.get("/api/v1/health/maintenance")).json()
        assert [w["reason"] for w in listed if w["id"] == window_id] == ["Postgres upgrade"]
        backwards = {**window, "endsAt": window["startsAt"]}
        assert (
            await as_admin.post("/api/v1/health/maintenance", json=backwards)
        ).status_code == 422
        not_an_id = await as_admin.delete("/api/v1/health/maintenance/first")
        assert not_an_id.status_code == 422
        assert not_an_id.json()["detail"][0]["loc"] == ["path", "window_id"]
        ended = await as_admin.delete(f"/api/v1/health/maintenance/{window_id}")
        assert (ended.status_code, ended.content) == (204, b"")
        gone = await as_admin.delete(f"/api/v1/health/maintenance/{window_id}")
        assert gone.status_code == 404
        # A name is one path segment at the monitor, whatever it holds.
        odd = await as_admin.get("/api/v1/health/checks/a%20b%3Fc/history", params={"hours": 2})
        assert (odd.status_code, odd.json()["detail"]) == (404, "no check named 'a b?c'")
        audit = (await as_admin.get("/api/v1/audit", params={"limit": 10})).json()
    assert [(e["action"], e["target"], e["outcome"]) for e in audit[:3]] == [
        ("health.maintenance.delete", str(window_id), "refused (404)"),
        ("health.maintenance.delete", str(window_id), "ok"),
        ("health.maintenance.add", None, "ok"),
    ]
    assert audit[2]["detail"]["request"]["reason"] == "Postgres upgrade"


async def test_the_audit_limit_is_validated_not_clamped(stack) -> None:
    dashboard, admin, _, _ = stack
    async with client(dashboard, admin) as as_admin:
        for _ in range(2):
            ran = await as_admin.post("/api/v1/health/checks/run", json={"check": "lookout-db"})
            assert ran.status_code == 200
        newest = (await as_admin.get("/api/v1/audit", params={"limit": 1})).json()
        assert len(newest) == 1
        everything = (await as_admin.get("/api/v1/audit", params={"limit": 1000})).json()
        assert len(everything) >= 2
        assert everything[0] == newest[0]
        for limit in (0, -1, 1001):
            refused = await as_admin.get("/api/v1/audit", params={"limit": limit})
            assert refused.status_code == 422, (limit, refused.text)
            [error] = refused.json()["detail"]
            assert error["loc"] == ["query", "limit"]


async def test_backup_action_is_a_command_the_worker_runs_and_reports(stack) -> None:
    dashboard, admin, viewer, _ = stack
    async with client(dashboard, viewer) as as_viewer:
        assert (
            await as_viewer.post("/api/v1/backups/actions", json={"operation": "backup"})
        ).status_code == 403
    async with client(dashboard, admin) as as_admin:
        sent = await as_admin.post("/api/v1/backups/actions", json={"operation": "backup"})
        assert sent.status_code == 202
        command_id = sent.json()["commandId"]

        async def finished():
            runs = (await as_admin.get("/api/v1/backups/runs")).json()
            return runs if runs and runs[0]["status"] == "succeeded" else None

        [run] = await eventually(finished)
        detail = (await as_admin.get(f"/api/v1/backups/runs/{run['run_id']}")).json()
        assert sorted(a["collection"] for a in detail["artifacts"]) == ["places", "users"]
        assert detail["requested_by"] == "sre on call"
        unconfirmed = await as_admin.post(
            "/api/v1/backups/actions", json={"operation": "restore", "runId": run["run_id"]}
        )
        assert unconfirmed.status_code == 422
        audit = (await as_admin.get("/api/v1/audit")).json()
    assert audit[0]["action"] == "backup.backup"
    assert audit[0]["detail"]["command_id"] == command_id


async def test_worker_down_is_a_clear_502(stack) -> None:
    dashboard, admin, _, worker = stack
    worker.stop()
    async with client(dashboard, admin) as as_admin:
        answer = await as_admin.get("/api/v1/backups/runs")
    assert answer.status_code == 502
    assert "backup-worker is unreachable" in answer.json()["detail"]


async def test_incident_acknowledgement_and_updates_go_through_the_monitor(stack) -> None:
    dashboard, admin, viewer, worker = stack
    connection = await asyncpg.connect(worker.env["LOOKOUT_DATABASE_URL"])
    try:
        incident_id = await connection.fetchval(
            "INSERT INTO incidents (check_name, critical, status, message, opened_at, updated_at)"
            " VALUES ('search-api', true, 'unhealthy', 'HTTP 503', now(), now()) RETURNING id"
        )
    finally:
        await connection.close()
    path = f"/api/v1/health/incidents/{incident_id}"
    async with client(dashboard, viewer) as as_viewer:
        assert (await as_viewer.post(f"{path}/ack")).status_code == 403
    async with client(dashboard, admin) as as_admin:
        acknowledged = await as_admin.post(f"{path}/ack")
        assert acknowledged.status_code == 200, acknowledged.text
        assert acknowledged.json()["acknowledgedBy"] == "sre on call"
        update = {"state": "identified", "message": "The search cluster lost a node"}
        updated = await as_admin.post(f"{path}/updates", json=update)
        assert updated.status_code == 201, updated.text
        assert updated.json()["state"] == "identified"
        refused = await as_admin.post(f"{path}/updates", json={"state": "fixed", "message": "x"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "state"]
        missing = await as_admin.post("/api/v1/health/incidents/999999/ack")
        assert missing.status_code == 404
        audit = (await as_admin.get("/api/v1/audit", params={"limit": 10})).json()
    actions = [(entry["action"], entry["target"]) for entry in audit[:3]]
    assert ("health.incident.update", str(incident_id)) in actions
    assert ("health.incident.ack", str(incident_id)) in actions
