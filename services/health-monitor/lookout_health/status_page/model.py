"""What the status page shows (`/status.json`), and the pure function that builds it
from the running config, the latest results, the daily component rollups, incidents
and maintenance windows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from lookout_common.contracts.health_events import CheckResult, CheckStatus
from lookout_common.contracts.models import Camel
from lookout_health.sla import RollupRow
from lookout_health.uptime import Resolution, Seconds, bucket_start, worst

DAYS = 90

ComponentState = Literal["operational", "degraded", "outage", "maintenance", "unknown"]
DayState = Literal["operational", "degraded", "outage", "maintenance", "nodata"]
STATE_OF_STATUS: dict[CheckStatus, ComponentState] = {
    CheckStatus.HEALTHY: "operational",
    CheckStatus.DEGRADED: "degraded",
    CheckStatus.UNHEALTHY: "outage",
}


class DayBar(Camel):
    date: str = Field(description="UTC day, YYYY-MM-DD")
    state: DayState = Field(description="The day's worst state")
    uptime_pct: float | None
    down_s: float
    degraded_s: float
    maintenance_s: float
    incidents: list[int] = Field(description="Ids of the incidents open that day")


class LocationState(Camel):
    location: str
    state: ComponentState = Field(description="The component's state as this location sees it")


class ComponentStatus(Camel):
    name: str
    state: ComponentState
    uptime_90d_pct: float | None = Field(alias="uptime90dPct")
    days: list[DayBar] = Field(description="The last 90 days, oldest first")
    locations: list[LocationState] = Field(
        default_factory=list,
        description="Each location's view, by location name; empty unless more than one"
        " location reports the component's checks",
    )


class TimelineEntry(Camel):
    at: datetime
    state: str = Field(
        description="investigating, identified, monitoring, resolved, or the "
        "monitor's finding: failing, degraded, recovered"
    )
    message: str | None = Field(None, description="An admin's public update; never a probe's")


class PublicIncident(Camel):
    id: int
    component: str
    state: str
    opened_at: datetime
    resolved_at: datetime | None
    updated_at: datetime
    timeline: list[TimelineEntry]


class ScheduledMaintenance(Camel):
    starts_at: datetime
    ends_at: datetime
    reason: str
    active: bool


class StatusPage(Camel):
    generated_at: datetime
    state: ComponentState = Field(description="The worst component state (or maintenance)")
    components: list[ComponentStatus]
    active_incidents: list[PublicIncident]
    recent_incidents: list[PublicIncident] = Field(description="Resolved in the last 90 days")
    maintenance: list[ScheduledMaintenance] = Field(description="Current and future windows")


_PAGE_ORDER: dict[str, int] = {"unknown": 0, "operational": 1, "degraded": 2, "outage": 3}
_FINDING = {"healthy": "recovered", "degraded": "degraded", "unhealthy": "failing"}


def day_state(seconds: Seconds | None) -> DayState:
    if seconds is None or (seconds.known <= 0 and seconds.maintenance <= 0):
        return "nodata"
    if seconds.down > 0:
        return "outage"
    if seconds.degraded > 0:
        return "degraded"
    if seconds.maintenance > 0:
        return "maintenance"
    return "operational"


def timeline(updates: Sequence[Mapping[str, Any]]) -> list[TimelineEntry]:
    """The incident's updates as the public may read them: an admin's updates (state and
    message) in full, the monitor's findings as a word only (a probe's message can name
    internal hosts)."""
    entries = []
    for update in updates:
        if "state" in update:
            entries.append(
                TimelineEntry(at=update["at"], state=update["state"], message=update.get("message"))
            )
        elif update.get("status") in _FINDING:
            entries.append(TimelineEntry(at=update["at"], state=_FINDING[update["status"]]))
    return entries


def public_incident(row: Mapping[str, Any], component: str) -> PublicIncident:
    resolved = row["resolved_at"]
    return PublicIncident(
        id=row["id"],
        component=component,
        state=row.get("state") or ("resolved" if resolved else "investigating"),
        opened_at=row["opened_at"],
        resolved_at=resolved,
        updated_at=row["updated_at"],
        timeline=timeline(row["updates"]),
    )


def location_states(
    checks: Sequence[str], by_location: Sequence[CheckResult]
) -> list[LocationState]:
    """The component's state per location (the worst of its checks' newest results from
    there), by location name; empty when fewer than two locations report."""
    statuses: dict[str, list[CheckStatus]] = {}
    wanted = set(checks)
    for result in by_location:
        if result.service in wanted:
            statuses.setdefault(result.location, []).append(result.status)
    if len(statuses) < 2:
        return []
    return [
        LocationState(location=location, state=STATE_OF_STATUS[worst(found) or CheckStatus.HEALTHY])
        for location, found in sorted(statuses.items())
    ]


def build_page(
    *,
    now: datetime,
    components: Mapping[str, Sequence[str]],
    latest: Sequence[CheckResult],
    daily: Sequence[RollupRow],
    incidents: Sequence[Mapping[str, Any]],
    maintenance: Sequence[Mapping[str, Any]],
    by_location: Sequence[CheckResult] = (),
) -> StatusPage:
    """The page for `components` ({name: its checks}); incidents of checks outside every
    component are left out (their check is no longer configured). `by_location` holds the
    newest result per check and location: a component reported by several locations
    lists each one's state."""
    component_of = {check: name for name, checks in components.items() for check in checks}
    latest_of = {result.service: result for result in latest}
    in_maintenance = any(w["starts_at"] <= now < w["ends_at"] for w in maintenance)
    today = bucket_start(now, Resolution.DAY)
    first = today - timedelta(days=DAYS - 1)
    by_day: dict[tuple[str, datetime], Seconds] = {
        (row.component, row.bucket): row.seconds for row in daily if row.bucket >= first
    }
    shown = [
        public_incident(row, component_of[row["check_name"]])
        for row in incidents
        if row["check_name"] in component_of
    ]
    shown_in: dict[str, list[PublicIncident]] = {}
    for incident in shown:
        shown_in.setdefault(incident.component, []).append(incident)
    listed = []
    for name in sorted(components):
        status = worst(latest_of[c].status for c in components[name] if c in latest_of)
        state: ComponentState = "unknown" if status is None else STATE_OF_STATUS[status]
        if in_maintenance and state != "unknown":
            state = "maintenance"
        days, total = [], Seconds()
        for offset in range(DAYS):
            start = first + timedelta(days=offset)
            seconds = by_day.get((name, start))
            total = total + (seconds or Seconds())
            end = start + timedelta(days=1)
            # Built from our own numbers, so not validated again: 9,000 validated bars (100
            # components) were most of the page's time.
            days.append(
                DayBar.model_construct(
                    date=start.date().isoformat(),
                    state=day_state(seconds),
                    uptime_pct=seconds.uptime_pct if seconds else None,
                    down_s=round(seconds.down, 1) if seconds else 0.0,
                    degraded_s=round(seconds.degraded, 1) if seconds else 0.0,
                    maintenance_s=round(seconds.maintenance, 1) if seconds else 0.0,
                    incidents=[
                        i.id
                        for i in shown_in.get(name, ())
                        if i.opened_at < end and (i.resolved_at is None or i.resolved_at >= start)
                    ],
                )
            )
        listed.append(
            ComponentStatus(
                name=name,
                state=state,
                uptime_90d_pct=total.uptime_pct,
                days=days,
                locations=location_states(components[name], by_location),
            )
        )
    overall: ComponentState = max(
        (c.state for c in listed if c.state != "maintenance"),
        key=_PAGE_ORDER.__getitem__,
        default="unknown",
    )
    if in_maintenance and overall in ("operational", "unknown"):
        overall = "maintenance"
    return StatusPage(
        generated_at=now,
        state=overall,
        components=listed,
        active_incidents=[i for i in shown if i.resolved_at is None],
        recent_incidents=[i for i in shown if i.resolved_at is not None and i.resolved_at >= first],
        maintenance=[
            ScheduledMaintenance(
                starts_at=w["starts_at"],
                ends_at=w["ends_at"],
                reason=w["reason"],
                active=w["starts_at"] <= now < w["ends_at"],
            )
            for w in maintenance
            if w["ends_at"] > now
        ],
    )
