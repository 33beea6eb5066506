"""Supervised background loops: a loop that raises is logged, counted and restarted with
backoff, and a loop that keeps failing makes `/healthz` answer 503.

Every background loop of a Lookout process runs under a `Supervisor` (owned by the
app's lifespan). A loop is meant to run until it is cancelled, so an exception and a
plain return are both failures of that run. The rule `/healthz` applies:

- each failure is logged once with its traceback, counted in
  `lookout_loop_restarts_total{loop}`, and the loop restarts after a delay that doubles
  from `loop_backoff_s` up to `loop_backoff_max_s`;
- `loop_unhealthy_failures` failures in a row make the loop *failing*: `/healthz`
  answers 503 (and `lookout_loop_failing{loop}` is 1), so the orchestrator restarts
  the process;
- a run that lasts `loop_stable_s` without failing ends the streak: the loop is healthy
  again, and so is `/healthz`.

A dependency outage the loop expects (Postgres or Kafka unreachable) is not a failure of
the loop: the loop handles it itself and `/readyz` reports it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from lookout_common.infra.settings import LookoutSettings

log = logging.getLogger("lookout.supervise")

RESTARTS = Counter(
    "lookout_loop_restarts_total",
    "Background loop runs that ended in an exception (or returned) and were restarted",
    ["loop"],
)

LoopFactory = Callable[[], Awaitable[None]]


@dataclass
class LoopState:
    """One supervised loop: its current failure streak and when its current run began."""

    name: str
    failures: int = 0  # failures in a row
    run_started: float | None = None  # monotonic; None while waiting to restart
    last_error: str | None = None

    def failing(self, now: float, threshold: int, stable_s: float) -> bool:
        if self.failures < threshold:
            return False
        # A run that has lasted stable_s without failing ends the streak.
        return self.run_started is None or now - self.run_started < stable_s


class Supervisor:
    """Runs loops under supervision; `async with` cancels and awaits them all on exit."""

    def __init__(
        self,
        *,
        backoff_s: float = 1.0,
        backoff_max_s: float = 60.0,
        unhealthy_failures: int = 5,
        stable_s: float = 30.0,
    ) -> None:
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.unhealthy_failures = unhealthy_failures
        self.stable_s = stable_s
        self.loops: dict[str, LoopState] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        _SUPERVISORS.add(self)

    @classmethod
    def from_settings(cls, settings: LookoutSettings) -> Supervisor:
        return cls(
            backoff_s=settings.loop_backoff_s,
            backoff_max_s=settings.loop_backoff_max_s,
            unhealthy_failures=settings.loop_unhealthy_failures,
            stable_s=settings.loop_stable_s,
        )

    def spawn(self, name: str, loop: LoopFactory) -> asyncio.Task[None]:
        """Run `loop()` under supervision as task `name`; cancel the task to stop it."""
        state = LoopState(name)
        self.loops[name] = state
        task = asyncio.create_task(self._supervise(state, loop), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def failing(self) -> list[str]:
        """Names of the loops that keep failing (then the process is not live)."""
        now = time.monotonic()
        return sorted(
            name
            for name, state in self.loops.items()
            if state.failing(now, self.unhealthy_failures, self.stable_s)
        )

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def __aenter__(self) -> Supervisor:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def delay(self, failures: int) -> float:
        """Seconds before restart number `failures`: doubling from backoff_s, capped."""
        return min(self.backoff_s * 2.0 ** max(failures - 1, 0), self.backoff_max_s)

    async def _supervise(self, state: LoopState, loop: LoopFactory) -> None:
        try:
            while True:
                state.run_started = started = time.monotonic()
                try:
                    await loop()
                    error: BaseException | None = None
                except asyncio.CancelledError:
                    raise
                except Exception as raised:  # noqa: BLE001 - the point of a supervisor
                    error = raised
                lasted = time.monotonic() - started
                state.run_started = None
                state.failures = 1 if lasted >= self.stable_s else state.failures + 1
                state.last_error = repr(error) if error else "returned"
                RESTARTS.labels(state.name).inc()
                delay = self.delay(state.failures)
                log.error(
                    "background loop failed; restarting"
                    if error
                    else "background loop ended unexpectedly; restarting",
                    exc_info=error,
                    extra={
                        "loop": state.name,
                        "failures_in_a_row": state.failures,
                        "restart_in_s": round(delay, 3),
                    },
                )
                await asyncio.sleep(delay)
        finally:
            # A loop that was replaced under the same name (a reloaded check) keeps the
            # new state; a loop stopped for good is forgotten.
            if self.loops.get(state.name) is state:
                del self.loops[state.name]


_SUPERVISORS: weakref.WeakSet[Supervisor] = weakref.WeakSet()


class _FailingLoops(Collector):
    """`lookout_loop_failing{loop}`: 1 while a loop keeps failing, computed at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "lookout_loop_failing",
            "1 while a background loop keeps failing (then /healthz answers 503), else 0",
            labels=["loop"],
        )
        now = time.monotonic()
        for supervisor in list(_SUPERVISORS):
            for name, state in list(supervisor.loops.items()):
                failing = state.failing(now, supervisor.unhealthy_failures, supervisor.stable_s)
                family.add_metric([name], 1.0 if failing else 0.0)
        yield family


REGISTRY.register(_FailingLoops())
