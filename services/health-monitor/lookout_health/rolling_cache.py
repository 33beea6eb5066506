"""The checks' 24 h / 7 d / 30 d uptime (`/api/v1/health/checks`) with the settled part of
each window kept between requests.

`sla.rolling_ranges` cuts a window into fine rows from its start to the first coarse
boundary (the edge) and coarse rows from there to the current bucket. Only the newest
buckets still change: the rollups writer adds to the bucket a result's time fell in, and
that time reaches back at most `MAX_RESULT_SPAN` before the result, so a flush just after
a boundary (midnight for the day rows) still writes the bucket before it. A coarse bucket
that ended more than `SETTLE` ago is settled; each request reads the unsettled coarse rows
(one or two per check and resolution) and adds the kept sums: the edge's fine rows as
suffix sums (the window's start moves every minute inside them) and the settled coarse
rows' sum. They are recomputed when what they cover changes (the edge, a new settled
bucket, the configured checks) and at least every `REFRESH_S`, which bounds how long a
write into an older bucket (a result delayed in a backlog, deltas held while Postgres was
down) goes unseen.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

import asyncpg

from lookout_health import rollup_store
from lookout_health.cache import Cached
from lookout_health.sla import rolling_ranges
from lookout_health.uptime import MAX_RESULT_SPAN, Resolution, Scope, Seconds, bucket_start

SETTLE = MAX_RESULT_SPAN + timedelta(minutes=1)
REFRESH_S = 600.0


class Cut(NamedTuple):
    """One window at one instant: fine rows in [edge, split) from `start` on, coarse rows
    in [split, settled) kept, coarse rows in [settled, end) read on every request."""

    fine: Resolution
    coarse: Resolution
    edge: datetime
    start: datetime
    split: datetime
    settled: datetime
    end: datetime


def cut(now: datetime, length: timedelta) -> Cut:
    (fine, start, split), (coarse, _, end) = rolling_ranges(now, length)
    settled = max(split, bucket_start(now - SETTLE, coarse))
    return Cut(fine, coarse, bucket_start(start, coarse), start, split, settled, end)


Sums = tuple[float, float, float]  # up, degraded, down: what an uptime is made of
NOTHING: Sums = (0.0, 0.0, 0.0)


def _plus(sums: Sums, seconds: Seconds) -> Sums:
    return (sums[0] + seconds.up, sums[1] + seconds.degraded, sums[2] + seconds.down)


class Settled:
    """Per check: its edge rows' buckets with the sums of the rows from each one on (one
    more, empty, at the end), and the sums of its settled coarse rows; `at(start)` adds
    them up for a window starting at `start` (kept until the start moves)."""

    def __init__(
        self, edge: dict[str, list[tuple[datetime, Seconds]]], coarse: dict[str, Seconds]
    ) -> None:
        self.edge = {name: _suffix_sums(rows) for name, rows in edge.items()}
        self.coarse = {name: _plus(NOTHING, seconds) for name, seconds in coarse.items()}
        self._start: datetime | None = None
        self._at: dict[str, Sums] = {}

    def at(self, start: datetime) -> dict[str, Sums]:
        if start != self._start:
            found = dict(self.coarse)
            for name, (buckets, from_each) in self.edge.items():
                up, degraded, down = from_each[bisect_left(buckets, start)]
                kept = found.get(name, NOTHING)
                found[name] = (up + kept[0], degraded + kept[1], down + kept[2])
            self._start, self._at = start, found
        return self._at


def _suffix_sums(rows: list[tuple[datetime, Seconds]]) -> tuple[list[datetime], list[Sums]]:
    sums = [NOTHING]
    for _, seconds in reversed(rows):
        sums.append(_plus(sums[-1], seconds))
    sums.reverse()
    return [bucket for bucket, _ in rows], sums


async def _settled(
    connection: asyncpg.Connection | asyncpg.Pool, names: list[str], window: Cut
) -> Settled:
    edge = await rollup_store.bucket_rows(
        connection, Scope.CHECK, names, window.fine, window.edge, window.split
    )
    coarse = await rollup_store.summed_rollups(
        connection,
        Scope.CHECK,
        names,
        [rollup_store.RollupRange(0, window.coarse, window.split, window.settled)],
    )
    return Settled(edge, {name: seconds for (name, _), seconds in coarse.items()})


@dataclass
class RollingUptime:
    """What `rollup_store.rolling_uptime` answers, with each window's settled part kept."""

    refresh_s: float = REFRESH_S
    _kept: dict[timedelta, Cached[Settled]] = field(default_factory=dict)

    async def uptime(
        self,
        connection: asyncpg.Connection | asyncpg.Pool,
        checks: list[str],
        now: datetime,
        windows: Sequence[timedelta],
    ) -> dict[str, list[float | None]]:
        cuts = [cut(now, length) for length in windows]
        live = {
            part: await rollup_store.summed_by_name(connection, Scope.CHECK, *part)
            for part in dict.fromkeys(
                (window.coarse, window.settled, window.end) for window in cuts
            )
        }
        names = tuple(checks)
        found: dict[str, list[float | None]] = {name: [] for name in checks}
        for length, window in zip(windows, cuts, strict=True):
            kept = self._kept.setdefault(length, Cached(self.refresh_s))
            settled = await kept.get(
                lambda window=window: _settled(connection, checks, window),  # type: ignore[misc]
                key=(names, window.edge, window.split, window.settled),
            )
            unsettled = live[window.coarse, window.settled, window.end]
            kept_sums = settled.at(window.start)
            for name in checks:
                up, degraded, down = kept_sums.get(name, NOTHING)
                more = unsettled.get(name)
                if more is not None:
                    up, degraded, down = up + more.up, degraded + more.degraded, down + more.down
                found[name].append(Seconds(up, degraded, down).uptime_pct)
        return found
