"""The incident lifecycle end to end, on real processes (a health monitor and the alert
consumer on one Postgres and one Kafka): reminders while nobody acknowledged, one
escalation to the second receiver, acknowledgement stops both and is audit-logged, and
admin updates move the incident through its states onto its timeline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from support.alerts import Receiver
from support.services import settings_env
from support.wait import eventually

pytestmark = pytest.mark.integration


def summaries(hook: Receiver, prefix: str) -> list[str]:
    return [b["summary"] for b in hook.bodies if b["summary"].startswith(prefix)]


@pytest.fixture
async def ops() -> AsyncIterator[Receiver]:
    async with Receiver() as hook:
        yield hook


@pytest.fixture
async def oncall() -> AsyncIterator[Receiver]:
    async with Receiver() as hook:
        yield hook


async def test_reminders_escalation_acknowledgement_and_updates(
    monitor, http_server, service_factory, ops, oncall
) -> None:
    receivers = [
        {"name": "ops", "kind": "webhook", "url": ops.url},
        {"name": "oncall", "kind": "webhook", "url": oncall.url},
    ]
    service_factory(
        "lookout_health.alerts",
        settings_env(
            monitor.settings,
            LOOKOUT_ALERT_RECEIVERS=json.dumps(receivers),
            LOOKOUT_ALERT_ESCALATION_RECEIVERS='["oncall"]',
            LOOKOUT_ALERT_POLL_S="0.1",
        ),
    )
    http_server.healthy = False
    monitor.config_path.write_text(
        f"checks:\n  - {{name: auth-service, kind: http, url: {http_server.url},"
        " interval_s: 0.3, timeout_s: 2, failures_before_incident: 1}\n"
    )
    monitor.env.update(
        LOOKOUT_HEALTH_REMINDER_S="1",
        LOOKOUT_HEALTH_ESCALATE_AFTER_S="2.5",
        LOOKOUT_HEALTH_INCIDENT_POLL_S="0.1",
    )
    monitor.start()

    # Unacknowledged: the opening, then reminders, reach ops; the escalation reaches
    # oncall, and only the escalation does.
    await eventually(lambda: asyncio.sleep(0, len(summaries(ops, "reminder:")) >= 2), 30)
    assert summaries(ops, "auth-service is unhealthy")
    await eventually(lambda: asyncio.sleep(0, oncall.bodies), 30)
    assert [b["summary"][:10] for b in oncall.bodies] == ["escalated:"]
    assert oncall.bodies[0]["escalation"] is True
    assert not summaries(ops, "escalated:")

    [incident] = (await monitor.get("/api/v1/health/incidents?state=open")).json()
    path = f"/api/v1/health/incidents/{incident['id']}"
    assert incident["state"] == "investigating"
    assert incident["acknowledgedAt"] is None
    assert (await monitor.post(f"{path}/ack", key=monitor.viewer_key)).status_code == 403

    acknowledged = await monitor.post(f"{path}/ack")
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["acknowledgedBy"] == "sre"
    [row] = await monitor.rows("SELECT reminders FROM incidents WHERE id = $1", incident["id"])
    await asyncio.sleep(2.5)  # two and a half reminder periods
    [after] = await monitor.rows("SELECT reminders FROM incidents WHERE id = $1", incident["id"])
    assert after["reminders"] == row["reminders"]  # acknowledgement stopped them
    # Every reminder claimed was delivered, once.
    await eventually(lambda: asyncio.sleep(0, len(summaries(ops, "reminder:")) == row["reminders"]))
    assert len(oncall.bodies) == 1
    [audit] = await monitor.rows(
        "SELECT actor, action, target FROM audit_log WHERE action = 'health.incident.acknowledge'"
    )
    assert tuple(audit) == ("sre", "health.incident.acknowledge", f"incident:{incident['id']}")

    # Admin updates: forward through the states, one refused step back with its reason.
    for state, message in [
        ("identified", "the auth database ran out of connections"),
        ("monitoring", "pool size raised; watching"),
    ]:
        answer = await monitor.post(f"{path}/updates", {"state": state, "message": message})
        assert answer.status_code == 201, answer.text
        assert answer.json()["state"] == state
    refused = await monitor.post(f"{path}/updates", {"state": "identified", "message": "x"})
    assert refused.status_code == 409
    assert "cannot go back from monitoring to identified" in refused.json()["detail"]
    missing = await monitor.post(
        "/api/v1/health/incidents/999999/updates", {"state": "identified", "message": "x"}
    )
    assert missing.status_code == 404

    done = await monitor.post(f"{path}/updates", {"state": "resolved", "message": "fixed"})
    assert done.status_code == 201
    resolved = done.json()
    assert resolved["resolvedAt"] is not None
    timeline = [(u.get("state"), u["message"]) for u in resolved["updates"] if "state" in u]
    assert timeline == [
        ("identified", "the auth database ran out of connections"),
        ("monitoring", "pool size raised; watching"),
        ("resolved", "fixed"),
    ]
    await eventually(lambda: asyncio.sleep(0, summaries(ops, "auth-service recovered")))
    again = await monitor.post(f"{path}/updates", {"state": "monitoring", "message": "x"})
    assert again.status_code == 409
    assert "resolved is final" in again.json()["detail"]

    # The check still fails: the resolved incident stays resolved, and a new one opens.
    async def reopened() -> list[dict]:
        rows = (await monitor.get("/api/v1/health/incidents?state=open")).json()
        return [row for row in rows if row["id"] != incident["id"]]

    [new] = await eventually(reopened, 30)
    assert (new["check"], new["state"], new["acknowledgedAt"]) == (
        "auth-service",
        "investigating",
        None,
    )
