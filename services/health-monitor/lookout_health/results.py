"""Writing check results to `system_health_logs` in batches, off the checks' own path.

A run only queues its result; one supervised loop writes what is queued in a single
statement every `FLUSH_S` (or at once when `BATCH` are waiting): at 10,000 checks one
insert per result cost a third of the monitor's CPU. Nothing reported is lost unsaid:
- a result reaches Kafka (`after_write`) only once its row is committed, and
  `POST /checks/run` answers only once its results are written (`flush`);
- while Postgres is down (or the insert fails) the results wait and the loop retries;
  past `capacity` the oldest are dropped, counted in
  `lookout_health_results_not_written_total{reason}` and logged;
- `stop` writes what is queued, and counts and logs whatever it could not.
A crash loses at most the last `FLUSH_S` of results, none of which was reported yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence

import asyncpg
from prometheus_client import Counter

from lookout_common.contracts.health_events import CheckResult
from lookout_common.infra.db import DATABASE_UNAVAILABLE
from lookout_common.infra.supervise import Supervisor
from lookout_health.store import results as result_store

log = logging.getLogger("lookout.health")

FLUSH_S = 0.1
BATCH = 1000

NOT_WRITTEN = Counter(
    "lookout_health_results_not_written_total",
    "Check results dropped before reaching system_health_logs, by reason",
    ["reason"],
)


class ResultWriter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        supervisor: Supervisor,
        after_write: Callable[[Sequence[CheckResult]], None] = lambda _: None,
        *,
        capacity: int = 100_000,
        flush_s: float = FLUSH_S,
    ) -> None:
        self.pool = pool
        self.supervisor = supervisor
        self.after_write = after_write
        self.capacity = capacity
        self.flush_s = flush_s
        self._queued: deque[CheckResult] = deque()
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._waiting = False

    def __len__(self) -> int:
        return len(self._queued)

    def start(self) -> None:
        if self._task is None:
            self._task = self.supervisor.spawn("health-results", self._run)

    def add(self, result: CheckResult) -> None:
        """Queue a result; returns at once. Past `capacity` the oldest queued is dropped
        (counted and logged)."""
        if len(self._queued) >= self.capacity:
            self._queued.popleft()
            NOT_WRITTEN.labels("queue_full").inc()
            log.error(
                "check result dropped: the write queue is full",
                extra={"capacity": self.capacity},
            )
        self._queued.append(result)
        if len(self._queued) >= BATCH:
            self._full.set()

    async def flush(self) -> None:
        """Write everything queued now (raises if Postgres refuses; then it stays queued)."""
        async with self._lock:
            while self._queued:
                batch = [self._queued.popleft() for _ in range(min(BATCH, len(self._queued)))]
                try:
                    await result_store.insert_results(self.pool, batch)
                except BaseException:
                    self._queued.extendleft(reversed(batch))  # first in line next time
                    raise
                self.after_write(batch)

    async def stop(self) -> None:
        """Stop the loop and write what is queued; what cannot be written is counted and
        logged, never dropped silently."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        try:
            await self.flush()
        except Exception as error:  # noqa: BLE001 - reported below, with the count
            lost = len(self._queued)
            self._queued.clear()
            NOT_WRITTEN.labels("stopped").inc(lost)
            log.error(
                "check results not written at stop",
                extra={"results": lost, "error": repr(error)},
            )

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_s):
                    await self._full.wait()
            self._full.clear()
            try:
                await self.flush()
            except DATABASE_UNAVAILABLE as error:
                # An outage is waited out here; any other failure is the supervisor's to
                # count and restart (and fails /healthz while it lasts).
                if not self._waiting:
                    log.warning(
                        "check results wait for Postgres",
                        extra={"queued": len(self._queued), "error": repr(error)},
                    )
                self._waiting = True
                await asyncio.sleep(1.0)
            else:
                self._waiting = False
