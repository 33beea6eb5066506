"""The alert consumer wired in one place: what it builds per process, in its lifespan.

`bootstrap` opens the pool and the broker, subscribes the two handlers and starts one
supervised delivery loop per receiver; on the way out the loops stop first, then the
broker and the pool they used. The Kafka handlers only record an alert in the Postgres
outbox (one row per receiver) and return, so the offset is committed after that insert.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from pydantic import ValidationError

from lookout_common.contracts.backup_events import BackupResult
from lookout_common.contracts.health_events import IncidentEvent
from lookout_common.contracts.topics import Topic, group_name, topic_name
from lookout_common.infra.db import create_pool
from lookout_common.infra.kafka import make_broker, start_with_retry
from lookout_common.infra.service import AppServices
from lookout_common.infra.settings import AlertSettings
from lookout_common.infra.supervise import Supervisor
from lookout_health.alerts import outbox
from lookout_health.alerts.delivery import Deliverer
from lookout_health.alerts.model import Alert, backup_alert, incident_alert
from lookout_health.alerts.receivers import RECEIVERS, Receiver, routed

log = logging.getLogger("lookout.alerts")


@dataclass(frozen=True)
class Routing:
    """The receivers of `LOOKOUT_ALERT_RECEIVERS` and the names that take escalations."""

    receivers: list[Receiver]
    escalation: set[str]

    @classmethod
    def from_settings(cls, settings: AlertSettings) -> Routing:
        """Validated at start-up: ValueError for an escalation name that is no receiver."""
        receivers = RECEIVERS.validate_python(settings.alert_receivers)
        names = [receiver.name for receiver in receivers]
        unknown = sorted(set(settings.alert_escalation_receivers) - set(names))
        if unknown:
            raise ValueError(
                "LOOKOUT_ALERT_ESCALATION_RECEIVERS names no receiver of"
                f" LOOKOUT_ALERT_RECEIVERS: {unknown}"
            )
        return cls(receivers, set(settings.alert_escalation_receivers))


@dataclass(frozen=True)
class AlertServices:
    """What the alert consumer's probes need, built once per process."""

    settings: AlertSettings
    pool: asyncpg.Pool


async def _undecoded(message: KafkaMessage) -> None:
    return None  # each handler validates the raw record against its own model


@asynccontextmanager
async def bootstrap(
    settings: AlertSettings, routing: Routing, loops: Supervisor
) -> AsyncIterator[AlertServices]:
    """Pool, broker with its two subscribers, and a delivery loop per receiver."""
    pool = await create_pool(settings)
    broker = make_broker(settings, client_id="lookout-alerts")

    async def record(alert: Alert | None) -> None:
        if alert is not None:
            # Each receiver's routing (severity, source, checks) picks what it gets.
            targets = routed(routing.receivers, alert, routing.escalation)
            added = await outbox.record(pool, alert, targets)
            log.info("alert recorded", extra={"alert": alert.event_key, "rows": added})

    group_id = group_name(settings.alert_group_id, settings.topic_prefix)

    async def on_incident(message: KafkaMessage) -> None:
        try:
            event = IncidentEvent.model_validate_json(message.body)
        except ValidationError as error:
            log.error("unreadable incident event skipped", extra={"error": str(error)})
            return
        await record(incident_alert(event))

    async def on_backup(message: KafkaMessage) -> None:
        try:
            result = BackupResult.model_validate_json(message.body)
        except ValidationError as error:
            log.error("unreadable backup result skipped", extra={"error": str(error)})
            return
        await record(backup_alert(result))

    for topic, handler in (
        (Topic.HEALTH_INCIDENTS, on_incident),
        (Topic.BACKUP_RESULTS, on_backup),
    ):
        broker.subscriber(
            topic_name(topic, settings.topic_prefix),
            group_id=group_id,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,  # commit only after the outbox insert
            decoder=_undecoded,
        )(handler)

    await start_with_retry(broker, settings)
    try:
        async with loops:
            for receiver in routing.receivers:
                loops.spawn(
                    f"alert-delivery:{receiver.name}", Deliverer(settings, pool, receiver).run
                )
            yield AlertServices(settings, pool)
    finally:
        await broker.stop()
        await pool.close()


app_services = AppServices(AlertServices)
