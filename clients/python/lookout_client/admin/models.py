"""What the admin calls answer, as dashboard-api's OpenAPI document names it. Health
answers are camelCase on the wire (`lastCheck`) and snake_case here (`last_check`);
`model_dump(by_alias=True)` gives the wire names back. Fields the API adds later are
kept (`extra="allow"`), so a newer dashboard-api does not break an older client.

States are plain strings, not enumerations, for the same reason: `SystemStatus.status`
is operational, degraded, outage or maintenance; a check's status is healthy, degraded
or unhealthy; a run's is queued, running, succeeded, partial or failed.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Answer(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class _CamelAnswer(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )


class CheckResult(_CamelAnswer):
    """One run of one check (the brief's "Health Check Results")."""

    service: str
    status: str
    response_time: float = Field(description="Milliseconds")
    message: str
    timestamp: datetime
    kind: str
    critical: bool = True
    details: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    location: str = Field(
        "default",
        description="The monitor location that ran the check (its LOOKOUT_HEALTH_LOCATION)",
    )


class CriticalIssue(_CamelAnswer):
    service: str
    status: str
    message: str
    since: datetime


class SystemStatus(_CamelAnswer):
    """The brief's system status: `status`, `uptime` (the lowest 30-day uptime of the
    critical checks; None before any check ran), `last_check`, `critical_issues`,
    `active_incidents`."""

    status: str
    uptime: float | None
    last_check: datetime | None
    critical_issues: list[CriticalIssue]
    active_incidents: int


class Incident(_CamelAnswer):
    """An incident of one check, open (`resolved_at` None) or resolved. `status` is the
    check's status that opened or last updated it; `state` is where the admins' work on it
    stands (investigating, identified, monitoring or resolved). An incident nobody has
    acknowledged gets reminders (`reminders` counts them) and is escalated once
    (`escalated_at`)."""

    id: int
    check: str
    critical: bool
    status: str
    message: str
    opened_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    duration_s: float | None
    updates: list[dict[str, object]]
    state: str = Field(
        "investigating", description="investigating, identified, monitoring or resolved"
    )
    acknowledged_at: datetime | None = Field(None, description="None until acknowledged")
    acknowledged_by: str | None = Field(None, description="The name of the key that acknowledged")
    reminders: int = Field(0, description="Reminders sent while unacknowledged")
    escalated_at: datetime | None = Field(None, description="None unless it was escalated")


class Uptime(_CamelAnswer):
    last_24h: float | None = Field(None, alias="24h")
    last_7d: float | None = Field(None, alias="7d")
    last_30d: float | None = Field(None, alias="30d")


class CheckSummary(_CamelAnswer):
    """A configured check with its latest result and its uptime."""

    name: str
    kind: str
    critical: bool
    interval_s: float
    latest: CheckResult | None
    uptime: Uptime


class CheckLocation(_CamelAnswer):
    """What one monitor location last saw of a check: `failing` is its verdict towards the
    quorum (None while only one location runs checks), `since` when that verdict last
    changed, `stale` when it was not updated within the quorum window (the location
    stopped running the check; its verdict counts for nothing)."""

    location: str
    failing: bool | None
    since: datetime | None
    stale: bool
    latest: CheckResult


class Accepted(_CamelAnswer):
    """dashboard-api sent the command to the backup worker (202); the run's progress and
    outcome follow on the live stream and in `backups.list()`."""

    command_id: str
    operation: str


class Run(_Answer):
    """A backup, verify, restore or prune run."""

    run_id: str
    operation: str
    status: str
    backup_type: str | None
    target_run_id: str | None
    requested_by: str
    collections: list[str]
    rows: int
    bytes: int
    errors: list[str]
    target: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    authenticated: bool | None = None


class StoredArtifact(_Answer):
    collection: str
    format: str
    object_key: str
    rows: int
    bytes: int
    sha256_plain: str
    sha256_stored: str
    compression: str
    encrypted: bool


class RunDetail(Run):
    artifacts: list[StoredArtifact]


class Retention(_Answer):
    retention_days: int | None = None
    keep_last: int = 0
    keep_daily: int = 0
    keep_weekly: int = 0
    keep_monthly: int = 0


class Schedule(_Answer):
    """A backup schedule as the worker stores it; `weekday` and `full_weekday` count from
    0 = Monday."""

    id: int
    name: str
    frequency: str
    hour: int
    minute: int
    weekday: int | None
    day_of_month: int | None
    timezone: str
    collections: list[str]
    retention: Retention
    trial_restore: bool
    enabled: bool
    next_run_at: datetime | None
    backup_type: str = "full"
    full_weekday: int | None = None
    trial_restore_weekday: int | None = None
