"""Reminders and escalation of open, unacknowledged incidents, through the incident
outbox: each is claimed on the incident row and queued in `incident_outbox` in one
transaction, so it survives a restart, reaches the alert consumer like every other
transition, and is sent once however many monitors run this loop (a replica that lost
the race to claim it queues nothing)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg

from lookout_common.contracts.health_events import CheckStatus, IncidentAction, IncidentEvent
from lookout_common.infra.db import DATABASE_UNAVAILABLE
from lookout_common.infra.settings import HealthMonitorSettings
from lookout_health.lifecycle import OpenIncident, due
from lookout_health.store import incidents as incident_store

log = logging.getLogger("lookout.health")


async def queue_event(
    connection: asyncpg.Connection, row: asyncpg.Record, action: IncidentAction, at: datetime
) -> IncidentEvent:
    """Queue `action` of the incident `row` in the outbox (inside the caller's transaction)."""
    resolved = row["resolved_at"]
    maintenance = await incident_store.active_maintenance(connection, at)
    event = IncidentEvent(
        incident_id=row["id"],
        check=row["check_name"],
        action=action,
        status=CheckStatus(row["status"]),
        critical=row["critical"],
        message=row["message"],
        opened_at=row["opened_at"],
        resolved_at=resolved,
        duration_s=(resolved - row["opened_at"]).total_seconds() if resolved else None,
        at=at,
        in_maintenance=maintenance is not None,
    )
    await incident_store.queue_incident_event(connection, event)
    return event


class Reminders:
    """The `health-incident-reminders` loop: every `health_incident_poll_s`, while this
    replica leads, queue the reminders and escalations that are due."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: HealthMonitorSettings,
        is_leader: Callable[[], bool],
        queued: Callable[[], None],
    ) -> None:
        self.pool = pool
        self.settings = settings
        self.is_leader = is_leader
        self.queued = queued  # wakes the outbox relay

    async def run(self) -> None:
        while True:
            if self.is_leader():
                try:
                    await self.once(datetime.now(UTC))
                except DATABASE_UNAVAILABLE as error:
                    log.warning(
                        "reminders not checked: database unavailable", extra={"error": repr(error)}
                    )
            await asyncio.sleep(self.settings.health_incident_poll_s)

    async def once(self, now: datetime) -> int:
        """Queue what is due at `now`; returns how many events were queued."""
        queued = 0
        for row in await incident_store.unacknowledged_incidents(self.pool):
            incident = OpenIncident(row["opened_at"], row["reminded_at"], row["escalated_at"])
            needed = due(
                incident,
                now,
                reminder_s=self.settings.health_reminder_s,
                escalate_after_s=self.settings.health_escalate_after_s,
            )
            if needed.escalate:
                async with self.pool.acquire() as connection, connection.transaction():
                    claimed = await incident_store.mark_escalated(connection, row["id"], now)
                    if claimed is not None:
                        await queue_event(connection, claimed, "escalated", now)
                        queued += 1
            if needed.remind:
                async with self.pool.acquire() as connection, connection.transaction():
                    claimed = await incident_store.mark_reminded(
                        connection, row["id"], row["reminded_at"], now
                    )
                    if claimed is not None:
                        await queue_event(connection, claimed, "reminded", now)
                        queued += 1
        if queued:
            log.warning("incident reminders queued", extra={"events": queued})
            self.queued()
        return queued
