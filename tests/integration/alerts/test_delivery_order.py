"""One receiver gets a problem's alerts in order: while the firing alert is being
retried, its resolution waits (PagerDuty or Alertmanager would otherwise see the resolve
first and keep the incident open); another problem's alerts are not held back."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from support.alerts import Receiver, incident

from lookout_common.infra.db import create_pool
from lookout_common.infra.settings import AlertSettings
from lookout_health.alerts import outbox
from lookout_health.alerts.delivery import Deliverer
from lookout_health.alerts.model import incident_alert
from lookout_health.alerts.receivers import WebhookReceiver

pytestmark = pytest.mark.integration


async def test_a_resolution_waits_for_its_firing_alert_being_retried(database_url: str) -> None:
    settings = AlertSettings(database_url=database_url, alert_retry_base_s=0.2)
    pool = await create_pool(settings)
    try:
        async with Receiver() as hook:
            receiver = WebhookReceiver(name="ops", kind="webhook", url=hook.url)
            deliverer = Deliverer(settings, pool, receiver)
            deliverer.rng = random.Random(1)
            opened = incident("opened", incident_id=1, check="db-main")
            resolved = incident(
                "resolved",
                incident_id=1,
                check="db-main",
                opened_at=opened.opened_at,
                resolved_at=datetime.now(UTC),
                duration_s=60.0,
                at=datetime.now(UTC) + timedelta(seconds=1),
            )
            other = incident("opened", incident_id=2, check="search")
            for event in (opened, resolved, other):
                alert = incident_alert(event)
                assert alert is not None
                await outbox.record(pool, alert, ["ops"])
            hook.failures_left = 1  # the firing alert's first attempt fails
            async with httpx.AsyncClient(timeout=5) as client:
                await deliverer.drain_once(client)
                # Only the other problem got through; the resolution waits.
                assert [b["fingerprint"] for b in hook.bodies] == ["health:search"]
                deadline = datetime.now(UTC) + timedelta(seconds=10)
                while len(hook.bodies) < 3 and datetime.now(UTC) < deadline:
                    await deliverer.drain_once(client)
            assert [(b["fingerprint"], b["status"]) for b in hook.bodies] == [
                ("health:search", "firing"),
                ("health:db-main", "firing"),
                ("health:db-main", "resolved"),
            ]
    finally:
        await pool.close()
