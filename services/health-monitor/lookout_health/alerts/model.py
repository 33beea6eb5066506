"""The pure core of alerting: an incident or backup event in, an `Alert` (or nothing) out."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from lookout_common.contracts.backup_events import BackupResult, RunStatus
from lookout_common.contracts.health_events import IncidentEvent


class Alert(BaseModel):
    """What every receiver is sent (the generic webhook gets exactly this JSON)."""

    version: Literal[1] = 1
    fingerprint: str = Field(description="Same value for every event of one problem")
    event_key: str = Field(description="Unique per event: redelivery is recognised")
    source: Literal["health", "backup"]
    name: str
    status: Literal["firing", "resolved"]
    severity: Literal["critical", "warning"]
    summary: str
    description: str
    labels: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None = None
    escalation: bool = Field(
        False, description="Sent to LOOKOUT_ALERT_ESCALATION_RECEIVERS only, not the others"
    )


def incident_alert(event: IncidentEvent) -> Alert | None:
    """Opened/updated/reminded/escalated → firing, resolved → resolved; none inside a
    maintenance window. An escalation goes to the escalation receivers only."""
    if event.in_maintenance:
        return None
    resolved = event.action == "resolved"
    severity = "critical" if event.critical else "warning"
    summary = f"{event.check} is {event.status.value}"
    if resolved:
        summary = f"{event.check} recovered after {event.duration_s or 0:.0f} s"
    elif event.action in ("reminded", "escalated"):
        minutes = (event.at - event.opened_at).total_seconds() / 60
        prefix = "reminder" if event.action == "reminded" else "escalated"
        summary = f"{prefix}: {summary}, unacknowledged for {minutes:.0f} min"
    return Alert(
        fingerprint=f"health:{event.check}",
        event_key=f"incident:{event.incident_id}:{event.action}:{event.at.isoformat()}",
        source="health",
        name="LookoutCheckUnhealthy",
        status="resolved" if resolved else "firing",
        severity=severity,
        summary=summary,
        description=event.message,
        labels={"check": event.check, "incident": str(event.incident_id)},
        starts_at=event.opened_at,
        ends_at=event.resolved_at if resolved else None,
        escalation=event.action == "escalated",
    )


def backup_alert(result: BackupResult) -> Alert | None:
    """A backup, restore or verify run that failed or was only partial; nothing else."""
    if result.status not in (RunStatus.FAILED, RunStatus.PARTIAL) or result.operation == "prune":
        return None
    reasons = "; ".join(result.errors) or "no reason recorded"
    return Alert(
        fingerprint=f"backup:{result.run_id}",
        event_key=f"backup:{result.run_id}:{result.status.value}",
        source="backup",
        name="LookoutBackupFailed",
        status="firing",
        severity="critical" if result.status is RunStatus.FAILED else "warning",
        summary=f"{result.operation} run {result.run_id} {result.status.value}",
        description=reasons,
        labels={"run_id": result.run_id, "operation": result.operation},
        starts_at=result.started_at or result.at,
    )
