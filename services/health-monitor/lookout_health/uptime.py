"""The pure core of the uptime rollups: check results in, seconds per state per bucket out.

A result stands for the time until the next one of the same check, at most
`MAX_RESULT_SPAN` after it. That span is cut at bucket boundaries (minute, hour, day,
month) and at maintenance windows: time inside a declared window counts as
`maintenance`, never as up or down. A component (a group of checks) is in
the worst state of its checks' latest results, and its time is counted the same way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from lookout_common.contracts.health_events import CheckStatus

# While nothing was heard, nothing is counted.
MAX_RESULT_SPAN = timedelta(minutes=10)


class Resolution(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


class Scope(StrEnum):
    CHECK = "check"
    COMPONENT = "component"


# How long each resolution is kept (None: for good; a month row is 4 numbers).
RETENTION: dict[Resolution, timedelta | None] = {
    Resolution.MINUTE: timedelta(hours=48),
    Resolution.HOUR: timedelta(days=90),
    Resolution.DAY: timedelta(days=5 * 366),
    Resolution.MONTH: None,
}

Window = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Seconds:
    """Seconds spent in each state; `degraded` counts as up, `maintenance` as neither."""

    up: float = 0.0
    degraded: float = 0.0
    down: float = 0.0
    maintenance: float = 0.0

    def __add__(self, other: Seconds) -> Seconds:
        return Seconds(
            self.up + other.up,
            self.degraded + other.degraded,
            self.down + other.down,
            self.maintenance + other.maintenance,
        )

    @property
    def known(self) -> float:
        """Time with a known state outside maintenance: the SLA's denominator."""
        return self.up + self.degraded + self.down

    @property
    def uptime_pct(self) -> float | None:
        """% of known time not down, maintenance excluded; None when nothing is known."""
        if self.known <= 0:
            return None
        return round(100.0 * (self.up + self.degraded) / self.known, 4)

    @classmethod
    def of(cls, status: CheckStatus, seconds: float) -> Seconds:
        if status is CheckStatus.UNHEALTHY:
            return cls(down=seconds)
        if status is CheckStatus.DEGRADED:
            return cls(degraded=seconds)
        return cls(up=seconds)


def bucket_start(at: datetime, resolution: Resolution) -> datetime:
    at = at.astimezone(UTC)
    if resolution is Resolution.MINUTE:
        return at.replace(second=0, microsecond=0)
    if resolution is Resolution.HOUR:
        return at.replace(minute=0, second=0, microsecond=0)
    if resolution is Resolution.DAY:
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def next_month(start: datetime) -> datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


class RollupKey(NamedTuple):
    """A rollup row's key (a tuple: hashed and compared in C, it is made for every bucket
    of every result)."""

    scope: Scope
    name: str
    resolution: Resolution
    bucket: datetime


def split_span(
    start: datetime, end: datetime, status: CheckStatus, maintenance: Sequence[Window]
) -> dict[tuple[Resolution, datetime], Seconds]:
    """[start, end) in `status`, as seconds per bucket of every resolution, with the time
    inside maintenance windows counted as maintenance."""
    found: dict[tuple[Resolution, datetime], Seconds] = {}
    cut = start
    while cut < end:
        minute = bucket_start(cut, Resolution.MINUTE)
        piece_end = min(end, minute + timedelta(minutes=1))
        total = (piece_end - cut).total_seconds()
        held = sum(
            max((min(piece_end, w_end) - max(cut, w_start)).total_seconds(), 0.0)
            for w_start, w_end in maintenance
        )
        held = min(held, total)  # overlapping windows count once at most
        seconds = Seconds.of(status, total - held)
        if held:
            seconds += Seconds(maintenance=held)
        for resolution in Resolution:
            key = (resolution, bucket_start(minute, resolution))
            before = found.get(key)
            found[key] = seconds if before is None else before + seconds
        cut = piece_end
    return found


_WORST = {CheckStatus.HEALTHY: 0, CheckStatus.DEGRADED: 1, CheckStatus.UNHEALTHY: 2}


def worst(statuses: Iterable[CheckStatus]) -> CheckStatus | None:
    return max(statuses, key=_WORST.__getitem__, default=None)


class Members:
    """A component's checks whose latest result is fresh, oldest first, with how many are in
    each status: the component's worst state costs a look at three counters, not a scan
    of its checks (at 10,000 checks the scan was 9 % of the monitor's CPU)."""

    __slots__ = ("counts", "latest")

    def __init__(self) -> None:
        self.latest: OrderedDict[str, tuple[datetime, CheckStatus]] = OrderedDict()
        self.counts = dict.fromkeys(CheckStatus, 0)

    def put(self, check: str, at: datetime, status: CheckStatus) -> None:
        self.remove(check)
        self.latest[check] = (at, status)
        self.counts[status] += 1

    def remove(self, check: str) -> None:
        if (found := self.latest.pop(check, None)) is not None:
            self.counts[found[1]] -= 1

    def worst_since(self, since: datetime) -> CheckStatus | None:
        """The worst status among checks heard less than `MAX_RESULT_SPAN` before `since`;
        older ones leave for good (until their next result), oldest first, in the order
        results arrived."""
        while self.latest:
            check, (seen, _) = next(iter(self.latest.items()))
            if since - seen < MAX_RESULT_SPAN:
                break
            self.remove(check)
        counts = self.counts
        for status in _BY_SEVERITY:
            if counts[status]:
                return status
        return None


_BY_SEVERITY = (CheckStatus.UNHEALTHY, CheckStatus.DEGRADED, CheckStatus.HEALTHY)


@dataclass
class UptimeLedger:
    """Remembers each check's latest result and each component's last count, and turns
    every new result into the rollup deltas it completes."""

    checks: dict[str, tuple[datetime, CheckStatus, str]] = field(default_factory=dict)
    counted_until: dict[str, datetime] = field(default_factory=dict)
    members: dict[str, Members] = field(default_factory=dict)

    def observe(
        self,
        check: str,
        component: str,
        status: CheckStatus,
        at: datetime,
        maintenance: Sequence[Window] = (),
    ) -> dict[RollupKey, Seconds]:
        deltas: dict[RollupKey, Seconds] = {}
        previous = self.checks.get(check)
        if previous is not None and previous[0] < at:
            self._count(deltas, Scope.CHECK, check, previous[0], at, previous[1], maintenance)
        if previous is not None and previous[2] != component:
            # Moved to another component by a reload: the old one counts until now without it.
            self._count_component(deltas, previous[2], at, maintenance)
            self.checks.pop(check)
            self.members[previous[2]].remove(check)
            self.counted_until[previous[2]] = at
        self._count_component(deltas, component, at, maintenance)
        self.checks[check] = (at, status, component)
        if component not in self.members:
            self.members[component] = Members()
        self.members[component].put(check, at, status)
        self.counted_until[component] = at
        return deltas

    def forget(self, keep: set[str]) -> None:
        """Drop checks no longer configured (their components stop counting them)."""
        for name in [name for name in self.checks if name not in keep]:
            self.drop(name)

    def drop(self, check: str) -> None:
        """Forget the check's latest result: its component stops counting it, and its next
        result starts its count afresh."""
        if (found := self.checks.pop(check, None)) is not None:
            self.members[found[2]].remove(check)

    def _count_component(
        self,
        deltas: dict[RollupKey, Seconds],
        component: str,
        at: datetime,
        maintenance: Sequence[Window],
    ) -> None:
        since = self.counted_until.get(component)
        if since is None or since >= at:
            return
        state = self.members[component].worst_since(since)
        if state is not None:
            self._count(deltas, Scope.COMPONENT, component, since, at, state, maintenance)

    @staticmethod
    def _count(
        deltas: dict[RollupKey, Seconds],
        scope: Scope,
        name: str,
        since: datetime,
        at: datetime,
        status: CheckStatus,
        maintenance: Sequence[Window],
    ) -> None:
        end = min(at, since + MAX_RESULT_SPAN)
        for (resolution, bucket), seconds in split_span(since, end, status, maintenance).items():
            key = RollupKey(scope, name, resolution, bucket)
            before = deltas.get(key)
            deltas[key] = seconds if before is None else before + seconds


def merge(into: dict[RollupKey, Seconds], deltas: dict[RollupKey, Seconds]) -> None:
    for key, seconds in deltas.items():
        before = into.get(key)
        into[key] = seconds if before is None else before + seconds


def expired_before(resolution: Resolution, now: datetime) -> datetime | None:
    """Buckets of `resolution` starting before this are pruned (None: kept for good)."""
    kept = RETENTION[resolution]
    return None if kept is None else now - kept
