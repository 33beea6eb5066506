"""The pure function that builds the status page from the running config, the latest
statuses, the daily component rollups, incidents and maintenance windows.

At 10,000 checks in 100 components the page has 9,000 day bars, and building them was
most of its time. A past day's bar changes only when its inputs do (its rollup, or the
incidents open that day), so each component's past days are kept, keyed by those inputs
(`_past_days`): a build makes today's bar and reuses the rest, and an edit to a past day
(a late rollup, a maintenance window or an incident changed after the fact) is a new key,
hence new bars."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any

from lookout_common.contracts.health_events import CheckStatus
from lookout_health.status_page.model import (
    DAYS,
    STATE_OF_STATUS,
    ComponentState,
    ComponentStatus,
    DayBar,
    LocationState,
    PublicIncident,
    ScheduledMaintenance,
    StatusPage,
    day_state,
    location_states,
    public_incident,
)
from lookout_health.status_page.render import bar_item
from lookout_health.uptime import Resolution, Seconds, bucket_start, worst

# Components whose past days are kept (about 90 KB each with their markup): past this
# many components every build would make every bar again.
PAST_DAYS_KEPT = 1024
_PAGE_ORDER: dict[str, int] = {"unknown": 0, "operational": 1, "degraded": 2, "outage": 3}
_NO_DAYS: tuple[Seconds | None, ...] = (None,) * DAYS
_NO_INCIDENTS: tuple[tuple[int, ...], ...] = ((),) * DAYS


@dataclass(frozen=True, slots=True)
class _Day:
    start: datetime
    end: datetime
    date: str


@dataclass(frozen=True, slots=True)
class _PastDays:
    bars: tuple[DayBar, ...]
    total: Seconds  # their seconds summed, oldest first
    markup: str  # the page's markup of the bars


@lru_cache(maxsize=4)
def _window(first: datetime) -> tuple[_Day, ...]:
    """The `DAYS` UTC days from `first`: the same for every component."""
    starts = [first + timedelta(days=offset) for offset in range(DAYS + 1)]
    return tuple(_Day(start, end, start.date().isoformat()) for start, end in pairwise(starts))


def _bar(day: _Day, seconds: Seconds | None, incidents: tuple[int, ...]) -> DayBar:
    if seconds is None:
        return DayBar(
            date=day.date,
            state="nodata",
            uptime_pct=None,
            down_s=0.0,
            degraded_s=0.0,
            maintenance_s=0.0,
            incidents=list(incidents),
        )
    return DayBar(
        date=day.date,
        state=day_state(seconds),
        uptime_pct=seconds.uptime_pct,
        down_s=round(seconds.down, 1),
        degraded_s=round(seconds.degraded, 1),
        maintenance_s=round(seconds.maintenance, 1),
        incidents=list(incidents),
    )


@lru_cache(maxsize=PAST_DAYS_KEPT)
def _past_days(
    first: datetime,
    seconds_of: tuple[Seconds | None, ...],
    incidents_of: tuple[tuple[int, ...], ...],
) -> _PastDays:
    """The bars of the days from `first` on, one per item of `seconds_of` (kept: the same
    inputs give the same bars)."""
    total = Seconds()
    for seconds in seconds_of:
        if seconds is not None:
            total = total + seconds
    window = _window(first)
    bars = tuple(map(_bar, window, seconds_of, incidents_of))
    return _PastDays(bars, total, "".join(map(bar_item, bars)))


def _open_each_day(
    window: Sequence[_Day], incidents: Sequence[PublicIncident]
) -> tuple[tuple[int, ...], ...]:
    """The ids of `incidents` open on each day of `window`."""
    if not incidents:
        return _NO_INCIDENTS
    return tuple(
        tuple(
            i.id
            for i in incidents
            if i.opened_at < day.end and (i.resolved_at is None or i.resolved_at >= day.start)
        )
        for day in window
    )


def _component(
    name: str,
    state: ComponentState,
    first: datetime,
    seconds_of: Sequence[Seconds | None],
    incidents: Sequence[PublicIncident],
    locations: list[LocationState],
) -> ComponentStatus:
    """A component with its day bars and uptime: the past days' kept, today's new."""
    window = _window(first)
    incidents_of = _open_each_day(window, incidents)
    past = _past_days(first, tuple(seconds_of[:-1]), incidents_of[:-1])
    today = seconds_of[-1]
    bar = _bar(window[-1], today, incidents_of[-1])
    total = past.total if today is None else past.total + today
    component = ComponentStatus.model_validate(
        {
            "name": name,
            "state": state,
            "uptime_90d_pct": total.uptime_pct,
            "days": [*past.bars, bar],
            "locations": locations,
        }
    )
    component._bars_markup = past.markup + bar_item(bar)
    return component


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
    one's state. Day bars are validated when made (past days' once); the page around
    them once, as a whole."""
    component_of = {check: name for name, checks in components.items() for check in checks}
    in_maintenance = any(w["starts_at"] <= now < w["ends_at"] for w in maintenance)
    first = bucket_start(now, Resolution.DAY) - timedelta(days=DAYS - 1)
    shown = [
        public_incident(row, component_of[row["check_name"]])
        for row in incidents
        if row["check_name"] in component_of
    ]
    shown_in: dict[str, list[PublicIncident]] = {}
    for incident in shown:
        shown_in.setdefault(incident.component, []).append(incident)
    listed: list[ComponentStatus] = []
    for name in sorted(components):
        status = worst(latest[c] for c in components[name] if c in latest)
        state: ComponentState = "unknown" if status is None else STATE_OF_STATUS[status]
        if in_maintenance and state != "unknown":
            state = "maintenance"
        seconds_of = daily.get(name, _NO_DAYS)
        locations = location_states(components[name], by_location or {})
        listed.append(_component(name, state, first, seconds_of, shown_in.get(name, ()), locations))
    overall: ComponentState = max(
        (c.state for c in listed if c.state != "maintenance"),
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
