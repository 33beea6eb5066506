"""Alert delivery survives what a receiver's settings and its outbox throw at it: a URL
httpx cannot parse is refused at start-up, a request that cannot be built is that
receiver's failed delivery (the others still deliver), and a delivery loop that fails is
restarted while /healthz answers 503, then 200 once it delivers again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from pydantic import ValidationError
from support.wait import eventually

from lookout_common.contracts.health_events import CheckStatus, IncidentEvent
from lookout_common.infra.db import create_pool
from lookout_common.infra.service import add_probe_routes
from lookout_common.infra.settings import AlertSettings
from lookout_common.infra.supervise import Supervisor
from lookout_health.alerts import outbox
from lookout_health.alerts.app import create_app
from lookout_health.alerts.delivery import Deliverer
from lookout_health.alerts.model import incident_alert
from lookout_health.alerts.receivers import WebhookReceiver

pytestmark = pytest.mark.integration


class Webhook:
    """A real HTTP server on loopback that records every JSON body it is sent."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def _answer(self, reader, writer) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            self.bodies.append(json.loads(await reader.readexactly(length)))
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        writer.close()


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    receiver = Webhook()
    receiver.server = await asyncio.start_server(receiver._answer, "127.0.0.1", 0)
    yield receiver
    receiver.server.close()


def incident(incident_id: int) -> IncidentEvent:
    """Incident n of its own check (`service-n`): one problem each, so no alert waits
    for another's delivery (a receiver gets one problem's alerts in order)."""
    return IncidentEvent(
        incident_id=incident_id,
        check=f"service-{incident_id}",
        action="opened",
        status=CheckStatus.UNHEALTHY,
        critical=True,
        message="HTTP 500 from auth",
        opened_at=datetime.now(UTC) - timedelta(minutes=1),
        at=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("receiver", "reason"),
    [
        ({"kind": "webhook", "url": "http://[::1/hook"}, "not a URL: Invalid port: ':1'"),
        ({"kind": "slack", "url": "hooks.slack.com/x"}, "must be an http:// or https:// URL"),
        (
            {"kind": "webhook", "url": "http://h/", "headers": {"X-Token": "clé"}},
            "header 'X-Token': only printable ASCII can be sent",
        ),
    ],
)
def test_a_receiver_no_request_can_be_built_for_is_refused_at_start_up(
    receiver: dict, reason: str
) -> None:
    settings = AlertSettings(alert_receivers=[{"name": "broken", **receiver}])
    with pytest.raises(ValidationError, match=re.escape(reason)):
        create_app(settings)


async def test_an_alert_a_receiver_cannot_send_is_its_failed_delivery_and_others_deliver(
    database_url: str, webhook: Webhook
) -> None:
    alert_settings = AlertSettings(
        database_url=database_url, alert_poll_s=0.05, alert_retry_base_s=0.1
    )
    pool = await create_pool(alert_settings)
    # A receiver whose URL no request can be built from (as if validation had let it by).
    broken = WebhookReceiver.model_construct(
        name="broken", kind="webhook", url="http://[::1/hook", headers={}, secret=None
    )
    working = WebhookReceiver(name="ops", kind="webhook", url=webhook.url)
    before = REGISTRY.get_sample_value(
        "lookout_loop_restarts_total", {"loop": "alert-delivery:broken"}
    )
    try:
        async with Supervisor(backoff_s=0.05, unhealthy_failures=2) as loops:
            for receiver in (broken, working):
                loops.spawn(
                    f"alert-delivery:{receiver.name}", Deliverer(alert_settings, pool, receiver).run
                )
            for number in (1, 2):  # the second one comes after the first failed attempt
                await outbox.record(pool, incident_alert(incident(number)), ["broken", "ops"])
                await eventually(lambda n=number: asyncio.sleep(0, len(webhook.bodies) >= n))
            rows = await pool.fetch(
                "SELECT attempts, last_error FROM alert_deliveries"
                " WHERE receiver = 'broken' ORDER BY id"
            )
            assert all(row["attempts"] >= 1 for row in rows)
            assert rows[0]["last_error"] == (
                "cannot build the request: InvalidURL: Invalid port: ':1'"
            )
            assert loops.failing() == []
        after = REGISTRY.get_sample_value(
            "lookout_loop_restarts_total", {"loop": "alert-delivery:broken"}
        )
        assert after == before  # the loop itself never failed
    finally:
        await pool.close()


async def test_a_failing_delivery_loop_is_restarted_fails_healthz_and_recovers(
    database_url: str, webhook: Webhook, caplog: pytest.LogCaptureFixture
) -> None:
    alert_settings = AlertSettings(database_url=database_url, alert_poll_s=0.05)
    pool = await create_pool(alert_settings)
    loops = Supervisor(backoff_s=0.05, backoff_max_s=0.2, unhealthy_failures=3, stable_s=0.5)
    app = FastAPI()
    add_probe_routes(app, "alert-consumer", dict, loops=loops)
    receiver = WebhookReceiver(name="ops", kind="webhook", url=webhook.url)
    caplog.set_level(logging.ERROR, logger="lookout.supervise")
    try:
        # Injected failure: the outbox table disappears under the delivery loop.
        await pool.execute("ALTER TABLE alert_deliveries RENAME TO alert_deliveries_away")
        async with (
            loops,
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
        ):
            loops.spawn("alert-delivery:ops", Deliverer(alert_settings, pool, receiver).run)

            async def healthz(status: int):
                answer = await client.get("/healthz")
                return answer if answer.status_code == status else None

            failing = await eventually(lambda: healthz(503), timeout=10, interval=0.02)
            assert failing.json()["failing_loops"] == ["alert-delivery:ops"]
            logged = [r for r in caplog.records if getattr(r, "loop", "") == "alert-delivery:ops"]
            assert len(logged) >= 3
            assert 'relation "alert_deliveries" does not exist' in str(logged[0].exc_info[1])

            await pool.execute("ALTER TABLE alert_deliveries_away RENAME TO alert_deliveries")
            await outbox.record(pool, incident_alert(incident(7)), ["ops"])
            await eventually(lambda: asyncio.sleep(0, webhook.bodies), timeout=10)
            assert webhook.bodies[0]["labels"]["incident"] == "7"
            await eventually(lambda: healthz(200), timeout=10, interval=0.05)
    finally:
        await pool.close()
