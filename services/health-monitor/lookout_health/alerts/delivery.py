"""Draining the outbox: one loop per receiver, retries with exponential backoff and
jitter, so a receiver that is down never holds back the others."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from prometheus_client import Counter, Gauge, Histogram

from lookout_common.infra.db import DATABASE_UNAVAILABLE
from lookout_common.infra.settings import AlertSettings
from lookout_health.alerts import outbox
from lookout_health.alerts.receivers import DeliveryFailed, Receiver, send

log = logging.getLogger("lookout.alerts")

DELIVERIES = Counter(
    "lookout_alerts_delivered_total",
    "Alert delivery attempts by receiver and outcome (delivered, retry, gave_up)",
    ["receiver", "outcome"],
)
PENDING = Gauge("lookout_alerts_pending", "Alert deliveries not yet done")
LATENCY = Histogram(
    "lookout_alerts_delivery_seconds",
    "From the alert's recording to its delivery",
    ["receiver"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
)


def retry_delay(attempts: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Seconds before attempt number `attempts + 1`: doubling, capped, ±20 % jitter."""
    return min(base_s * 2.0**attempts, max_s) * rng.uniform(0.8, 1.2)


class Deliverer:
    def __init__(self, settings: AlertSettings, pool: asyncpg.Pool, receiver: Receiver) -> None:
        self.settings = settings
        self.pool = pool
        self.receiver = receiver
        self.rng = random.Random()  # noqa: S311 - jitter, not cryptography

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self.receiver.timeout_s) as client:
            while True:
                try:
                    busy = await self.drain_once(client)
                except DATABASE_UNAVAILABLE as error:
                    # An outage is waited out; anything else is a bug the supervisor sees.
                    log.warning("outbox unavailable", extra={"error": repr(error)})
                    busy = False
                if not busy:
                    await asyncio.sleep(self.settings.alert_poll_s)

    async def drain_once(self, client: httpx.AsyncClient) -> bool:
        """Try every due row once; True when there was work."""
        name = self.receiver.name
        async with self.pool.acquire() as connection, connection.transaction():
            rows = await outbox.due(connection, name)
            for row in rows:
                alert = outbox.alert_of(row)
                try:
                    await send(self.receiver, alert, client)
                except DeliveryFailed as error:
                    await self._failed(connection, row, str(error))
                    continue
                await outbox.delivered(connection, row["id"])
                DELIVERIES.labels(name, "delivered").inc()
                LATENCY.labels(name).observe(outbox.age(row, datetime.now(UTC)).total_seconds())
                log.info("alert delivered", extra={"receiver": name, "alert": alert.event_key})
        PENDING.set(await outbox.pending(self.pool))
        return bool(rows)

    async def _failed(
        self, connection: asyncpg.Connection, row: asyncpg.Record, error: str
    ) -> None:
        name = self.receiver.name
        now = datetime.now(UTC)
        if outbox.age(row, now) > timedelta(seconds=self.settings.alert_max_age_s):
            await outbox.failed(connection, row["id"], error, None)
            DELIVERIES.labels(name, "gave_up").inc()
            log.error("alert given up", extra={"receiver": name, "error": error})
            return
        delay = retry_delay(
            row["attempts"],
            self.settings.alert_retry_base_s,
            self.settings.alert_retry_max_s,
            self.rng,
        )
        await outbox.failed(connection, row["id"], error, now + timedelta(seconds=delay))
        DELIVERIES.labels(name, "retry").inc()
        log.warning(
            "alert delivery failed; will retry",
            extra={"receiver": name, "error": error, "retry_in_s": round(delay, 2)},
        )
