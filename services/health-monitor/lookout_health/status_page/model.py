"""What the status page shows (`/status.json`) and the pure helpers of its parts (a day's
state, an incident's public timeline, each location's view); `build` assembles the page."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, PrivateAttr

from lookout_common.contracts.health_events import CheckStatus
from lookout_common.contracts.models import Camel
from lookout_health.uptime import Seconds, worst

DAYS = 90

ComponentState = Literal["operational", "degraded", "outage", "maintenance", "unknown"]
DayState = Literal["operational", "degraded", "outage", "maintenance", "nodata"]
STATE_OF_STATUS: dict[CheckStatus, ComponentState] = {
    CheckStatus.HEALTHY: "operational",
    CheckStatus.DEGRADED: "degraded",
    CheckStatus.UNHEALTHY: "outage",
}


class DayBar(Camel):
    """One day of a component's bar. Frozen: a past day's bar is reused from one build of
    the page to the next."""

    model_config = ConfigDict(frozen=True)

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
    # The bars' markup, when `build` made it with the bars (past days' from earlier builds).
    _bars_markup: str | None = PrivateAttr(None)

    def bars_markup(self, render: Callable[[DayBar], str]) -> str:
        """The bars' markup: `render` of each day, joined, made once."""
        if self._bars_markup is None:
            self._bars_markup = "".join(map(render, self.days))
        return self._bars_markup


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
