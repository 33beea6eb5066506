"""What the status page shows (`/status.json`), and the pure function that builds it
from the running config, the latest results, the daily component rollups, incidents
and maintenance windows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Literal

from pydantic import Field

from lookout_common.contracts.health_events import CheckStatus
from lookout_common.contracts.models import Camel
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
    checks: Sequence[str], by_location: Mapping[str, Sequence[tuple[str, CheckStatus]]]
) -> list[LocationState]:
    """The component's state per location (the worst of its checks' newest results from
    there), by location name; empty when fewer than two locations report. `by_location`
    is {check: [(location, status of its newest result there)]}."""
    statuses: dict[str, list[CheckStatus]] = {}
    for check in checks:
        for location, status in by_location.get(check, ()):
            statuses.setdefault(location, []).append(status)
    if len(statuses) < 2:
        return []
    return [
        LocationState(location=location, state=STATE_OF_STATUS[worst(found) or CheckStatus.HEALTHY])
        for location, found in sorted(statuses.items())
    ]


@dataclass(frozen=True, slots=True)
class _Day:
    start: datetime
    end: datetime
    date: str


def _window(first: datetime) -> list[_Day]:
    """The `DAYS` UTC days from `first`: the same for every component."""
    starts = [first + timedelta(days=offset) for offset in range(DAYS + 1)]
    return [_Day(start, end, start.date().isoformat()) for start, end in pairwise(starts)]


def _days(
    window: Sequence[_Day],
    seconds_of: Sequence[Seconds | None],
    incidents: Sequence[PublicIncident],
) -> tuple[list[dict[str, Any]], float | None]:
    """A component's day bars (as the fields of `DayBar`) and its uptime over them."""
    days = []
    up = degraded = down = maintenance = 0.0
    for day, seconds in zip(window, seconds_of, strict=True):
        ids = [
            i.id
            for i in incidents
            if i.opened_at < day.end and (i.resolved_at is None or i.resolved_at >= day.start)
        ]
        if seconds is None:
            days.append(
                {
                    "date": day.date,
                    "state": "nodata",
                    "uptime_pct": None,
                    "down_s": 0.0,
                    "degraded_s": 0.0,
                    "maintenance_s": 0.0,
                    "incidents": ids,
                }
            )
            continue
        up += seconds.up
        degraded += seconds.degraded
        down += seconds.down
        maintenance += seconds.maintenance
        days.append(
            {
                "date": day.date,
                "state": day_state(seconds),
                "uptime_pct": seconds.uptime_pct,
                "down_s": round(seconds.down, 1),
                "degraded_s": round(seconds.degraded, 1),
                "maintenance_s": round(seconds.maintenance, 1),
                "incidents": ids,
            }
        )
    return days, Seconds(up, degraded, down, maintenance).uptime_pct


def build_page(
    *,
    now: datetime,
    components: Mapping[str, Sequence[str]],
    latest: Mapping[str, CheckStatus],
    daily: Mapping[str, Sequence[Seconds | None]],
    incidents: Sequence[Mapping[str, Any]],
    maintenance: Sequence[Mapping[str, Any]],
    by_location: Mapping[str, Sequence[tuple[str, CheckStatus]]] | None = None,
) -> StatusPage:
    """The page for `components` ({name: its checks}). `latest` is {check: its current
    status}; `daily` is {component: its `DAYS` daily rollups, oldest first, None for a day
    without any}, ending today; incidents of checks outside every component are left out
    (their check is no longer configured). `by_location` is {check: [(location, status of
    its newest result there)]}: a component reported by several locations lists each
    one's state. The page is validated once, as a whole (9,000 bars validated one at a
    time were most of its build time)."""
    component_of = {check: name for name, checks in components.items() for check in checks}
    in_maintenance = any(w["starts_at"] <= now < w["ends_at"] for w in maintenance)
    today = bucket_start(now, Resolution.DAY)
    first = today - timedelta(days=DAYS - 1)
    no_days: list[Seconds | None] = [None] * DAYS
    window = _window(first)
    shown = [
        public_incident(row, component_of[row["check_name"]])
        for row in incidents
        if row["check_name"] in component_of
    ]
    shown_in: dict[str, list[PublicIncident]] = {}
    for incident in shown:
        shown_in.setdefault(incident.component, []).append(incident)
    listed: list[dict[str, Any]] = []
    for name in sorted(components):
        status = worst(latest[c] for c in components[name] if c in latest)
        state: ComponentState = "unknown" if status is None else STATE_OF_STATUS[status]
        if in_maintenance and state != "unknown":
            state = "maintenance"
        days, uptime = _days(window, daily.get(name, no_days), shown_in.get(name, ()))
        listed.append(
            {
                "name": name,
                "state": state,
                "uptime_90d_pct": uptime,
                "days": days,
                "locations": location_states(components[name], by_location or {}),
            }
        )
    overall: ComponentState = max(
        (c["state"] for c in listed if c["state"] != "maintenance"),
        key=_PAGE_ORDER.__getitem__,
        default="unknown",
    )
    if in_maintenance and overall in ("operational", "unknown"):
        overall = "maintenance"
    return StatusPage.model_validate(
        {
            "generated_at": now,
            "state": overall,
            "components": listed,
            "active_incidents": [i for i in shown if i.resolved_at is None],
            "recent_incidents": [
                i for i in shown if i.resolved_at is not None and i.resolved_at >= first
            ],
            "maintenance": [
                ScheduledMaintenance(
                    starts_at=w["starts_at"],
                    ends_at=w["ends_at"],
                    reason=w["reason"],
                    active=w["starts_at"] <= now < w["ends_at"],
                )
                for w in maintenance
                if w["ends_at"] > now
            ],
        }
    )
