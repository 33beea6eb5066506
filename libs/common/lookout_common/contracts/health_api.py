"""The health monitor's HTTP contract: what its API (and dashboard-api, which relays it)
accepts and answers. Shared so both document and validate the same shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from lookout_common.contracts.health_events import CheckResult, CheckStatus
from lookout_common.contracts.models import Camel
from lookout_common.contracts.validation import IsoDatetime

SystemState = Literal["operational", "degraded", "outage", "maintenance"]
IncidentState = Literal["investigating", "identified", "monitoring", "resolved"]


class CriticalIssue(Camel):
    service: str
    status: CheckStatus
    message: str
    since: datetime


class SystemStatus(Camel):
    """The spec's system status card."""

    status: SystemState
    uptime: float | None = Field(
        description="The lowest 30-day uptime of the critical checks (as /checks gives each:"
        " degraded counts as up, declared maintenance is left out)"
    )
    last_check: datetime | None
    critical_issues: list[CriticalIssue]
    active_incidents: int


class RunRequest(Camel):
    check: str | None = Field(
        None,
        pattern=r"^[^\x00-\x1f]{1,200}$",
        description="One check by name; all when omitted",
    )


class Uptime(Camel):
    last_24h: float | None = Field(None, alias="24h")
    last_7d: float | None = Field(None, alias="7d")
    last_30d: float | None = Field(None, alias="30d")


class CheckSummary(Camel):
    name: str
    kind: str
    critical: bool
    interval_s: float
    latest: CheckResult | None
    uptime: Uptime


class CheckLocation(Camel):
    """What one location last saw of a check."""

    location: str
    failing: bool | None = Field(
        description="The location's verdict counted towards the quorum; null while only one"
        " location is configured (no verdicts are kept)"
    )
    since: datetime | None = Field(description="When the verdict last changed")
    stale: bool = Field(
        description="The verdict was not updated within the quorum window: the location"
        " stopped running the check, and its verdict counts towards no quorum"
    )
    latest: CheckResult


class HistoryPoint(Camel):
    bucket: datetime
    runs: int
    healthy: int
    p50: float = Field(description="Median response time, ms")
    p95: float


class Incident(Camel):
    id: int
    check: str
    critical: bool
    status: CheckStatus
    message: str
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    duration_s: float | None
    updates: list[dict[str, Any]]
    state: IncidentState = Field(
        "investigating", description="investigating, identified, monitoring or resolved"
    )
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = Field(None, description="The name of the key that acknowledged")
    reminders: int = Field(0, description="Reminders sent while unacknowledged")
    escalated_at: datetime | None = None


class IncidentUpdateRequest(Camel):
    """An admin's update of an incident: its new (or same) state and what is known."""

    state: IncidentState
    message: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")


class MaintenanceRequest(Camel):
    starts_at: IsoDatetime
    ends_at: IsoDatetime
    reason: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceRequest:
        if self.ends_at <= self.starts_at:
            raise ValueError("endsAt must be after startsAt")
        return self


class MaintenanceWindow(MaintenanceRequest):
    id: int
    created_by: str
