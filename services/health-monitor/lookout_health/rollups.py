"""Writing the uptime rollups as results arrive, and pruning them (and stale location
verdicts) by retention.

Each result's deltas (`lookout_health.uptime`) accumulate in memory and one supervised
loop writes them every `FLUSH_S` in a single statement: a 10,000-check monitor makes
one write a second instead of ten per result, and no two writers contend for a
component's rows. A crash loses at most the last second's accounting (the results
themselves are in system_health_logs); while Postgres is down the deltas wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import asyncpg
from prometheus_client import Counter

from lookout_common.contracts.health_events import CheckResult, CheckStatus
from lookout_common.infra.db import DATABASE_UNAVAILABLE
from lookout_common.infra.supervise import Supervisor
from lookout_health import rollup_store
from lookout_health.store import incidents as incident_store
from lookout_health.store import locations as location_store
from lookout_health.uptime import (
    MAX_RESULT_SPAN,
    Resolution,
    RollupKey,
    Seconds,
    UptimeLedger,
    Window,
    expired_before,
    merge,
)

log = logging.getLogger("lookout.health")

FLUSH_S = 1.0
PRUNE_EVERY_S = 3600.0
MAINTENANCE_FRESH_S = 2.0

PRUNED = Counter(
    "lookout_health_rollups_pruned_total", "Rollup rows pruned by retention", ["resolution"]
)
VERDICTS_PRUNED = Counter(
    "lookout_health_location_verdicts_pruned_total",
    "Stale location verdicts deleted by retention (a day after they went stale)",
)


class RollupWriter:
    def __init__(self, pool: asyncpg.Pool, supervisor: Supervisor, verdicts_kept_s: float) -> None:
        self.pool = pool
        self.supervisor = supervisor
        self.verdicts_kept_s = verdicts_kept_s
        self.ledger = UptimeLedger()
        self.pending: dict[RollupKey, Seconds] = {}
        self._windows: list[Window] = []
        self._windows_read = float("-inf")
        self._windows_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = self.supervisor.spawn("health-rollups", self._run)

    async def stop(self) -> None:
        """Stop the loop and write what is pending (if Postgres lets us)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await self.flush()
        except DATABASE_UNAVAILABLE as error:
            log.warning("uptime rollups not written at stop", extra={"error": repr(error)})

    async def record(self, result: CheckResult, component: str, status: CheckStatus | None) -> None:
        """Count the time the check's (and its component's) previous result stood for; this
        result stands in `status` (with locations, the quorum's state), or None when
        another location counts this check: its past here is forgotten, so that taking
        over later starts afresh."""
        if status is None:
            self.ledger.drop(result.service)
            return
        windows = await self._maintenance()
        deltas = self.ledger.observe(
            result.service,
            component,
            status,
            result.timestamp,
            windows,
        )
        merge(self.pending, deltas)

    def forget(self, checks: set[str]) -> None:
        self.ledger.forget(checks)

    async def flush(self) -> None:
        deltas, self.pending = self.pending, {}
        try:
            await rollup_store.add_rollups(self.pool, deltas)
        except BaseException:
            merge(self.pending, deltas)  # written next time
            raise

    async def prune(self, now: datetime) -> None:
        for resolution in Resolution:
            before = expired_before(resolution, now)
            if before is not None:
                deleted = await rollup_store.prune_rollups(self.pool, resolution, before)
                PRUNED.labels(resolution.value).inc(deleted)
        VERDICTS_PRUNED.inc(await location_store.prune_verdicts(self.pool, self.verdicts_kept_s))

    async def _maintenance(self) -> list[Window]:
        if time.monotonic() - self._windows_read > MAINTENANCE_FRESH_S:
            # One read for everyone: the runs that find the windows stale meanwhile wait for
            # it (a read each took the whole pool at 10,000 checks).
            async with self._windows_lock:
                if time.monotonic() - self._windows_read > MAINTENANCE_FRESH_S:
                    since = datetime.now(UTC) - MAX_RESULT_SPAN
                    rows = await incident_store.maintenance_windows(self.pool, since)
                    self._windows = [(row["starts_at"], row["ends_at"]) for row in rows]
                    self._windows_read = time.monotonic()
        return self._windows

    async def _run(self) -> None:
        pruned = float("-inf")
        while True:
            await asyncio.sleep(FLUSH_S)
            try:
                await self.flush()
                if time.monotonic() - pruned > PRUNE_EVERY_S:
                    await self.prune(datetime.now(UTC))
                    pruned = time.monotonic()
            except DATABASE_UNAVAILABLE as error:
                log.warning("uptime rollups wait for Postgres", extra={"error": repr(error)})
