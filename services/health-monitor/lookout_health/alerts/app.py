"""The alert-consumer process: every incident event becomes a structured alert log line
(the channel every deployment has); webhook and Alertmanager delivery build on it."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from faststream.kafka import KafkaMessage
from prometheus_client import Counter

from lookout_common.kafka import broker_reachable, make_broker, start_with_retry
from lookout_common.service import add_probe_routes
from lookout_common.settings import HealthMonitorSettings
from lookout_common.topics import Topic, topic_name

log = logging.getLogger("lookout.alerts")

ALERTS = Counter(
    "lookout_alerts_delivered_total", "Incident events delivered, by channel", ["channel"]
)


def create_app(settings: HealthMonitorSettings | None = None) -> FastAPI:
    settings = settings or HealthMonitorSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker = make_broker(settings, client_id="lookout-alerts")

        @broker.subscriber(
            topic_name(Topic.HEALTH_INCIDENTS, settings.topic_prefix),
            group_id="lookout-alerts",
            auto_offset_reset="earliest",
        )
        async def deliver(body: dict[str, Any], message: KafkaMessage) -> None:
            log.warning("incident", extra={"incident": json.dumps(body, default=str)})
            ALERTS.labels("log").inc()

        await start_with_retry(broker, settings)
        try:
            yield
        finally:
            await broker.stop()

    app = FastAPI(title="Lookout alert consumer", version="1.0", lifespan=lifespan)
    add_probe_routes(app, "alert-consumer", lambda: {"kafka": lambda: broker_reachable(settings)})
    return app
