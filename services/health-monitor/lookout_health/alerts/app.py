"""The alert-consumer process: incident and backup events in, alerts to every receiver.

The Kafka handler only records the alert in the Postgres outbox (one row per
receiver) and returns; the offset is committed after that. Delivery happens in one
supervised loop per receiver, with retries, so a restart loses nothing and a dead
receiver blocks nobody.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from pydantic import ValidationError

from lookout_common.contracts.backup_events import BackupResult
from lookout_common.contracts.health_events import IncidentEvent
from lookout_common.contracts.topics import Topic, group_name, topic_name
from lookout_common.infra.db import create_pool, database_reachable
from lookout_common.infra.kafka import broker_reachable, make_broker, start_with_retry
from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import AlertSettings
from lookout_common.infra.supervise import Supervisor
from lookout_health.alerts import outbox
from lookout_health.alerts.delivery import Deliverer
from lookout_health.alerts.model import Alert, backup_alert, incident_alert
from lookout_health.alerts.receivers import RECEIVERS, routed
from lookout_health.http_logging import quiet_http_client_logs

log = logging.getLogger("lookout.alerts")


async def _undecoded(message: KafkaMessage) -> None:
    return None  # each handler validates the raw record against its own model


def create_app(settings: AlertSettings | None = None) -> FastAPI:
    settings = settings or AlertSettings()
    quiet_http_client_logs()
    receivers = RECEIVERS.validate_python(settings.alert_receivers)
    names = [receiver.name for receiver in receivers]
    unknown = sorted(set(settings.alert_escalation_receivers) - set(names))
    if unknown:
        raise ValueError(
            "LOOKOUT_ALERT_ESCALATION_RECEIVERS names no receiver of LOOKOUT_ALERT_RECEIVERS:"
            f" {unknown}"
        )
    escalation = set(settings.alert_escalation_receivers)
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        app.state.pool = pool
        broker = make_broker(settings, client_id="lookout-alerts")

        async def record(alert: Alert | None) -> None:
            if alert is not None:
                # Each receiver's routing (severity, source, checks) picks what it gets.
                targets = routed(receivers, alert, escalation)
                added = await outbox.record(pool, alert, targets)
                log.info("alert recorded", extra={"alert": alert.event_key, "rows": added})

        group_id = group_name(settings.alert_group_id, settings.topic_prefix)

        @broker.subscriber(
            topic_name(Topic.HEALTH_INCIDENTS, settings.topic_prefix),
            group_id=group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,  # commit only after the outbox insert
            decoder=_undecoded,
        )
        async def on_incident(message: KafkaMessage) -> None:
            try:
                event = IncidentEvent.model_validate_json(message.body)
            except ValidationError as error:
                log.error("unreadable incident event skipped", extra={"error": str(error)})
                return
            await record(incident_alert(event))

        @broker.subscriber(
            topic_name(Topic.BACKUP_RESULTS, settings.topic_prefix),
            group_id=group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,  # commit only after the outbox insert
            decoder=_undecoded,
        )
        async def on_backup(message: KafkaMessage) -> None:
            try:
                result = BackupResult.model_validate_json(message.body)
            except ValidationError as error:
                log.error("unreadable backup result skipped", extra={"error": str(error)})
                return
            await record(backup_alert(result))

        await start_with_retry(broker, settings)
        try:
            async with loops:
                for receiver in receivers:
                    loops.spawn(
                        f"alert-delivery:{receiver.name}", Deliverer(settings, pool, receiver).run
                    )
                yield
        finally:
            await broker.stop()
            await pool.close()

    app = FastAPI(
        title="Lookout alert consumer",
        version=distribution_version("lookout-health-monitor"),
        description="Delivers incident and backup-failure alerts to webhooks, Slack and "
        "Alertmanager.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    add_probe_routes(
        app,
        "alert-consumer",
        lambda: {
            "postgres": lambda: database_reachable(app.state.pool),
            "kafka": lambda: broker_reachable(settings),
        },
        loops=loops,
    )
    return app
