"""The checks' 24 h / 7 d / 30 d uptime (`/api/v1/health/checks`) with the settled part of
each window kept between requests, and filled by a loop, never by a request.

`sla.rolling_ranges` cuts a window into fine rows from its start to the first coarse
boundary (the edge) and coarse rows from there to the current bucket. Only the newest
buckets still change: the rollups writer adds to the bucket a result's time fell in, and
that time reaches back at most `MAX_RESULT_SPAN` before the result, so a flush just after
a boundary (midnight for the day rows) still writes the bucket before it. A coarse bucket
that ended more than `SETTLE` ago is settled; each request reads the unsettled coarse rows
(one to three per check and resolution) and adds the kept sums: the edge's fine rows as
suffix sums (the window's start moves every minute inside them) and the settled coarse
rows' sum.

Filling those sums reads every check's fine rows of the edge (9.5 s at 10,000 checks), so
the supervised loop `RollingUptime.keep` does it: at start-up, `LEAD` before each hour
and day boundary for the cut that boundary brings (the request just after it finds its
sums ready), and again once they are `REFRESH_S` old, which bounds how long a write into
an older bucket (a result delayed in a backlog, deltas held while Postgres was down) goes
unseen, or when the configured checks changed. A request that finds no sums for its cut
(before the first fill, or a boundary the loop did not get ahead of) waits for the loop
to fill them, at most `FILL_WAIT_S` (then /checks answers 503 with Retry-After); a check
configured since the last fill has its settled rows read by the request itself until the
loop's next fill includes it.
"""

from __future__ import annotations

import asyncio
import contextlib
from bisect import bisect_left
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import asyncpg

from lookout_health import rollup_store
from lookout_health.sla import STEP, UPTIME_WINDOWS, rolling_ranges
from lookout_health.uptime import MAX_RESULT_SPAN, Resolution, Scope, Seconds, bucket_start

SETTLE = MAX_RESULT_SPAN + timedelta(minutes=1)
REFRESH_S = 600.0
# The loop fills the cut a boundary brings this long before it, and looks every TICK_S.
LEAD = timedelta(minutes=2)
TICK_S = 30.0
# Longest a request waits for the loop to fill its sums (the dashboard's relay allows
# 30 s); past it the loop is failing or far behind, and the request is refused.
FILL_WAIT_S = 20.0


class UptimeNotReady(Exception):
    """The loop has not filled the sums a request needs within `fill_wait_s`."""


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


def changes_ahead(now: datetime, length: timedelta) -> list[datetime]:
    """The instants in (now, now + LEAD] at which the window's edge or split moves: a coarse
    boundary (the start is on one) and one fine bucket after it (the start is past it)."""
    (fine, _, _), (coarse, _, _) = rolling_ranges(now, length)
    boundary = bucket_start(now, coarse)
    instants = (
        boundary + STEP[fine],
        boundary + STEP[coarse],
        boundary + STEP[coarse] + STEP[fine],
    )
    return [at for at in instants if now < at <= now + LEAD]


def settled_by(window: Cut, now: datetime) -> Cut:
    """`window` with only the coarse rows settled at `now` counted as settled (a cut of a
    coming boundary, filled ahead of it, settles less than it will)."""
    settled = min(window.settled, bucket_start(now - SETTLE, window.coarse))
    return window._replace(settled=max(window.split, settled))


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
    connection: asyncpg.Connection | asyncpg.Pool, names: Sequence[str], window: Cut
) -> Settled:
    edge = await rollup_store.bucket_rows(
        connection, Scope.CHECK, list(names), window.fine, window.edge, window.split
    )
    coarse = await rollup_store.summed_rollups(
        connection,
        Scope.CHECK,
        list(names),
        [rollup_store.RollupRange(0, window.coarse, window.split, window.settled)],
    )
    return Settled(edge, {name: seconds for (name, _), seconds in coarse.items()})


class Kept(NamedTuple):
    """One cut's settled sums: of the checks `names`, the coarse rows before `settled`."""

    names: frozenset[str]
    settled: datetime
    sums: Settled
    filled_at: datetime


Key = tuple[timedelta, datetime, datetime]  # a window's length, its cut's edge and split


def _key(length: timedelta, window: Cut) -> Key:
    return (length, window.edge, window.split)


@dataclass
class RollingUptime:
    """What `rollup_store.rolling_uptime` answers for `windows`, with each window's settled
    part kept by the loop `keep` (`tend` is one of its rounds)."""

    windows: tuple[timedelta, ...] = tuple(UPTIME_WINDOWS.values())
    refresh_s: float = REFRESH_S
    fill_wait_s: float = FILL_WAIT_S
    _kept: dict[Key, Kept] = field(default_factory=dict)
    _asked: dict[Key, Cut] = field(default_factory=dict)  # cuts requests wait for
    _wanted: asyncio.Event = field(default_factory=asyncio.Event)
    _filled: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def keep(
        self, connection: asyncpg.Connection | asyncpg.Pool, checks: Callable[[], Collection[str]]
    ) -> None:
        """The supervised loop: a round every `TICK_S`, or at once when a request waits."""
        while True:
            self._wanted.clear()
            await self.tend(connection, list(checks()), datetime.now(UTC))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wanted.wait(), TICK_S)

    async def tend(
        self, connection: asyncpg.Connection | asyncpg.Pool, checks: list[str], now: datetime
    ) -> None:
        """Fill what is due at `now`: each window's current cut and those of the boundaries
        within `LEAD`, when missing, `refresh_s` old or of other checks, and the cuts
        requests wait for; drop the cuts whose edge has passed."""
        names = frozenset(checks)
        due, self._asked = self._asked, {}
        for length in self.windows:
            current = cut(now, length)
            for at in (now, *changes_ahead(now, length)):
                window = cut(at, length)
                due.setdefault(_key(length, window), window)
            for key in [k for k in self._kept if k[0] == length and k[1] < current.edge]:
                if key not in due:
                    del self._kept[key]
        for key, window in due.items():
            kept = self._kept.get(key)
            if (
                kept is None
                or kept.names != names
                or (now - kept.filled_at).total_seconds() >= self.refresh_s
            ):
                fill = settled_by(window, now)
                sums = await _settled(connection, checks, fill)
                self._kept[key] = Kept(names, fill.settled, sums, now)
                async with self._filled:
                    self._filled.notify_all()

    async def _kept_for(self, length: timedelta, window: Cut) -> Kept:
        """The kept sums of `window`, waiting up to `fill_wait_s` for the loop to fill
        them if it has not (else UptimeNotReady)."""
        key = _key(length, window)
        try:
            async with asyncio.timeout(self.fill_wait_s), self._filled:
                while (kept := self._kept.get(key)) is None:
                    self._asked[key] = window
                    self._wanted.set()
                    await self._filled.wait()
        except TimeoutError:
            raise UptimeNotReady(f"not filled within {self.fill_wait_s:g} s") from None
        return kept

    async def uptime(
        self, connection: asyncpg.Connection | asyncpg.Pool, checks: list[str], now: datetime
    ) -> dict[str, list[float | None]]:
        """{check: its uptime percentage over each of `windows` ending at `now`}."""
        cuts = [cut(now, length) for length in self.windows]
        kept = [
            await self._kept_for(length, w) for length, w in zip(self.windows, cuts, strict=True)
        ]
        live = {
            part: await rollup_store.summed_by_name(connection, Scope.CHECK, *part)
            for part in dict.fromkeys(
                (window.coarse, entry.settled, window.end)
                for window, entry in zip(cuts, kept, strict=True)
            )
        }
        found: dict[str, list[float | None]] = {name: [] for name in checks}
        for window, entry in zip(cuts, kept, strict=True):
            kept_sums = entry.sums.at(window.start)
            if new := [name for name in checks if name not in entry.names]:
                # Configured since the loop's last fill: read now, kept from its next one.
                self._wanted.set()
                more_sums = await _settled(connection, new, window._replace(settled=entry.settled))
                kept_sums = {**kept_sums, **more_sums.at(window.start)}
            unsettled = live[window.coarse, entry.settled, window.end]
            for name in checks:
                up, degraded, down = kept_sums.get(name, NOTHING)
                more = unsettled.get(name)
                if more is not None:
                    up, degraded, down = up + more.up, degraded + more.degraded, down + more.down
                found[name].append(Seconds(up, degraded, down).uptime_pct)
        return found
