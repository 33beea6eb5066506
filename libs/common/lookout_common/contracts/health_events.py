"""The health contract: check results on `health.checks.v1` and incident transitions on
`health.incidents.v1` (both keyed by check name)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CheckStatus(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"


class CheckResult(BaseModel):
    """One run of one check, in the spec's shape (`responseTime` in milliseconds)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    service: str = Field(description="The check's name")
    status: CheckStatus
    response_time_ms: float = Field(alias="responseTime", ge=0)
    message: str
    timestamp: datetime
    kind: str = Field(description="Check kind: postgres, table, kafka, s3, http, tcp, dns, custom")
    critical: bool = True
    details: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    location: str = Field(
        "default", description="The monitor's location that probed (LOOKOUT_HEALTH_LOCATION)"
    )


# reminded: still open and unacknowledged after LOOKOUT_HEALTH_REMINDER_S;
# escalated: unacknowledged LOOKOUT_HEALTH_ESCALATE_AFTER_S after it opened.
IncidentAction = Literal["opened", "updated", "resolved", "reminded", "escalated"]


class IncidentEvent(BaseModel):
    """An incident opening, changing or resolving (one open incident per check at most)."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    incident_id: int
    check: str
    action: IncidentAction
    status: CheckStatus = Field(description="The check's status at this transition")
    critical: bool
    message: str
    opened_at: datetime
    resolved_at: datetime | None = None
    duration_s: float | None = Field(None, ge=0, description="Set when resolved")
    at: datetime = Field(description="When this transition happened")
    in_maintenance: bool = Field(
        False, description="Inside a declared maintenance window: recorded, not alerted"
    )
