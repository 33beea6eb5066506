"""Incidents with their timelines; admins write updates and acknowledge."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from fastapi import APIRouter, HTTPException, Query

from lookout_common.contracts.health_api import Incident, IncidentUpdateRequest
from lookout_common.contracts.health_events import CheckStatus
from lookout_common.contracts.validation import RowId
from lookout_common.infra.auth import AUTH_ERRORS, Admin, Reader
from lookout_health.bootstrap import MonitorDep, PoolDep
from lookout_health.lifecycle import IncidentState, TransitionRefused, next_state
from lookout_health.reminders import queue_event
from lookout_health.store import incidents as incident_store

router = APIRouter(tags=["health"])
NO_INCIDENT = {**AUTH_ERRORS, 404: {"description": "No such incident"}}


def incident_of(row: asyncpg.Record) -> Incident:
    resolved = row["resolved_at"]
    return Incident(
        id=row["id"],
        check=row["check_name"],
        critical=row["critical"],
        status=CheckStatus(row["status"]),
        message=row["message"],
        opened_at=row["opened_at"],
        updated_at=row["updated_at"],
        resolved_at=resolved,
        duration_s=(resolved - row["opened_at"]).total_seconds() if resolved else None,
        updates=row["updates"],
        state=row["state"],
        acknowledged_at=row["acknowledged_at"],
        acknowledged_by=row["acknowledged_by"],
        reminders=row["reminders"],
        escalated_at=row["escalated_at"],
    )


@router.get("/api/v1/health/incidents", response_model=list[Incident], responses=AUTH_ERRORS)
async def list_incidents(
    pool: PoolDep,
    _: Reader,
    state: str | None = Query(None, pattern="^(open|resolved)$"),
    limit: int = Query(100, ge=1, le=1000),
) -> list[Incident]:
    rows = await incident_store.incidents(pool, state=state, limit=limit)
    return [incident_of(row) for row in rows]


@router.post(
    "/api/v1/health/incidents/{incident_id}/updates",
    response_model=Incident,
    status_code=201,
    responses={
        **NO_INCIDENT,
        409: {"description": "The incident may not move to that state (the reason says why)"},
    },
)
async def add_update(
    pool: PoolDep,
    monitor: MonitorDep,
    incident_id: RowId,
    body: IncidentUpdateRequest,
    key: Admin,
) -> Incident:
    """Add a timestamped update to the incident's timeline and move it to `state`
    (investigating, identified, monitoring, resolved); `resolved` resolves it and
    sends the resolution to the receivers."""
    now = datetime.now(UTC)
    async with pool.acquire() as connection, connection.transaction():
        row = await incident_store.incident_for_update(connection, incident_id)
        if row is None:
            raise HTTPException(404, f"no incident {incident_id}")
        try:
            state = next_state(IncidentState(row["state"]), IncidentState(body.state))
        except TransitionRefused as refused:
            raise HTTPException(409, f"incident {incident_id}: {refused}") from refused
        row = await incident_store.add_incident_update(
            connection, incident_id, state=state.value, message=body.message, by=key.name, at=now
        )
        if state is IncidentState.RESOLVED:
            await queue_event(connection, row, "resolved", now)
    if state is IncidentState.RESOLVED and monitor.feed is not None:
        monitor.feed.incident_recorded()
    return incident_of(row)


@router.post(
    "/api/v1/health/incidents/{incident_id}/ack",
    response_model=Incident,
    responses={**NO_INCIDENT, 409: {"description": "The incident is resolved"}},
)
async def acknowledge(pool: PoolDep, incident_id: RowId, key: Admin) -> Incident:
    """Acknowledge an open incident: who and when are recorded (the first time only)
    and audit-logged, and its reminders and escalation stop."""
    now = datetime.now(UTC)
    async with pool.acquire() as connection, connection.transaction():
        row = await incident_store.incident_for_update(connection, incident_id)
        if row is None:
            raise HTTPException(404, f"no incident {incident_id}")
        if row["resolved_at"] is not None:
            raise HTTPException(409, f"incident {incident_id} is resolved: nothing to acknowledge")
        row = await incident_store.acknowledge_incident(connection, incident_id, key.name, now)
        await incident_store.audit(
            connection,
            actor=key.name,
            action="health.incident.acknowledge",
            target=f"incident:{incident_id}",
            outcome="ok",
            detail={"check": row["check_name"], "acknowledged_by": row["acknowledged_by"]},
        )
    return incident_of(row)
