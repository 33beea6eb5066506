"""Turning a check's run into its incident: the single location's transitions, or with
several locations this location's verdict and the quorum rule (`lookout_health.quorum`).

The incident row and its transition in the outbox commit together, so Kafka being down
(or the process dying before publishing) loses no transition; `KafkaFeed` publishes it.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import asyncpg
from prometheus_client import Gauge

from lookout_common.contracts.health_events import CheckResult, CheckStatus, IncidentEvent
from lookout_health.config import CheckConfig
from lookout_health.feed import KafkaFeed
from lookout_health.incidents import Observation, Transition
from lookout_health.quorum import Quorum, incident_open_after, quorum_transition, reported_status
from lookout_health.store import incidents as incident_store
from lookout_health.store import locations as location_store

log = logging.getLogger("lookout.health")

OPEN_INCIDENTS = Gauge("lookout_health_open_incidents", "Incidents open now")


class Decision(NamedTuple):
    """A location's run after the quorum rule: its result with the status the quorum
    allows, and the status its uptime counts (None: another location counts it)."""

    result: CheckResult
    uptime_status: CheckStatus | None


class IncidentDecider:
    """Records the incident transitions a monitor's runs call for."""

    def __init__(self, pool: asyncpg.Pool, quorum: Quorum, feed: KafkaFeed | None) -> None:
        self.pool = pool
        self.quorum = quorum
        self.feed = feed

    async def decide(self, check: CheckConfig, result: CheckResult, seen: Observation) -> Decision:
        """Record this location's verdict and apply the quorum rule to the incident; the
        result comes back with the status the quorum allows (`unhealthy` only if open).
        The first current location by name counts the check's uptime, in the quorum's
        state: down while the incident is open, whatever it sees itself."""
        failing_here = seen.state.incident_open
        event: IncidentEvent | None = None
        async with self.pool.acquire() as connection, connection.transaction():
            # Locations deciding about one check take turns (a transaction-scoped lock),
            # so two that start failing together cannot both miss each other's verdict;
            # the incident's partial unique index is the backstop against a second one.
            await location_store.lock_check(connection, check.name)
            await location_store.record_verdict(
                connection, check.name, self.quorum.location, failing=failing_here
            )
            current = await location_store.current_verdicts(
                connection, check.name, self.quorum.window_s
            )
            incident_open = await incident_store.is_open(connection, check.name)
            change = quorum_transition(
                incident_open=incident_open,
                failing_here=failing_here,
                failing_locations=current.failing,
                quorum=self.quorum.quorum,
                local=seen.transition,
            )
            confirmed = incident_open_after(incident_open, change)
            result = result.model_copy(
                update={"status": reported_status(result.status, confirmed=confirmed)}
            )
            if change is not None:
                event = await self._record_incident(connection, check, result, change)
        if event is not None:
            await self._recorded(check, result, event)
        if current.first_location != self.quorum.location:
            return Decision(result, None)
        return Decision(result, CheckStatus.UNHEALTHY if confirmed else result.status)

    async def incident(self, check: CheckConfig, result: CheckResult, change: Transition) -> None:
        """A single location's transition (no verdicts kept)."""
        async with self.pool.acquire() as connection, connection.transaction():
            event = await self._record_incident(connection, check, result, change)
            if event is None:
                return
        await self._recorded(check, result, event)

    async def _recorded(
        self, check: CheckConfig, result: CheckResult, event: IncidentEvent
    ) -> None:
        OPEN_INCIDENTS.set(len(await incident_store.open_incident_checks(self.pool)))
        log.warning(
            f"incident {event.action}",
            extra={"check": check.name, "incident": event.incident_id, "reason": result.message},
        )
        if self.feed is not None:
            self.feed.incident_recorded()

    async def _record_incident(
        self,
        connection: asyncpg.Connection,
        check: CheckConfig,
        result: CheckResult,
        change: Transition,
    ) -> IncidentEvent | None:
        at = result.timestamp
        if change is Transition.OPEN:
            row, opened = await incident_store.open_incident(
                connection,
                check.name,
                critical=check.critical,
                status=result.status,
                message=result.message,
                at=at,
            )
            if not opened:  # another replica or an earlier life opened it
                change = Transition.UPDATE
                row = await incident_store.update_incident(
                    connection, check.name, status=result.status, message=result.message, at=at
                )
        else:
            row = await incident_store.update_incident(
                connection,
                check.name,
                status=result.status,
                message=result.message,
                at=at,
                resolve=change is Transition.RESOLVE,
            )
        if row is None:
            return None
        maintenance = await incident_store.active_maintenance(connection, at)
        event = IncidentEvent(
            incident_id=row["id"],
            check=check.name,
            action=change.value,
            status=result.status,
            critical=check.critical,
            message=result.message,
            opened_at=row["opened_at"],
            resolved_at=row["resolved_at"],
            duration_s=(row["resolved_at"] - row["opened_at"]).total_seconds()
            if row["resolved_at"]
            else None,
            at=at,
            in_maintenance=maintenance is not None,
        )
        await incident_store.queue_incident_event(connection, event)
        return event
