"""Running the checks: one schedule per check, each run under its own timeout, results
stored and published; what a run means for the check's incident is `decisions.py`'s.

Every check has its own task, so a dependency that hangs delays nobody else; the
run itself is bounded by `timeout_s` and a timeout is a result, never an error of
the monitor. Only the leader replica of each location runs schedules (Postgres
advisory-lock lease per location). With several locations each location's verdicts go
to Postgres and the quorum rule (`lookout_health.quorum`, applied by
`lookout_health.decisions`) decides the check's incident.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import NamedTuple

import asyncpg
from faststream.kafka import KafkaBroker
from prometheus_client import Counter, Gauge, Histogram

from lookout_common.contracts.health_events import CheckResult
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.db import DATABASE_UNAVAILABLE
from lookout_common.infra.supervise import Supervisor
from lookout_health.checks import ProbeContext, probe_for
from lookout_health.checks.base import describe
from lookout_health.config import CheckConfig, HealthConfig
from lookout_health.decisions import OPEN_INCIDENTS, IncidentDecider
from lookout_health.feed import KafkaFeed
from lookout_health.incidents import CheckState, observe, restored_state
from lookout_health.quorum import Quorum
from lookout_health.results import ResultWriter
from lookout_health.rollups import RollupWriter
from lookout_health.store import incidents as incident_store
from lookout_health.store import locations as location_store

log = logging.getLogger("lookout.health")

RESULTS = Counter(
    "lookout_health_check_results_total", "Check results by check and status", ["check", "status"]
)
SECONDS = Histogram(
    "lookout_health_check_seconds",
    "Check response time",
    ["check"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
STATUS = Gauge(
    "lookout_health_check_status",
    "Latest status of each check: 0 healthy, 1 degraded, 2 unhealthy",
    ["check", "critical"],
)
STATUS_VALUE = {"healthy": 0, "degraded": 1, "unhealthy": 2}
BACKGROUND_FAILED = Counter(
    "lookout_health_background_runs_failed_total",
    "Check runs asked for in the background (heartbeat pings) that raised",
)
SCHEDULE_LAG = Histogram(
    "lookout_health_schedule_lag_seconds",
    "How late a scheduled run started",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5),
)


FIRST_RUNS_PER_S = 200


def first_run_delay(phase: float, interval_s: float, checks: int) -> float:
    """Seconds from the start to a check's first run, for its phase (0 to 1) of the
    interval: within 10 s, or at the phase itself when `checks` would make that more than
    FIRST_RUNS_PER_S first runs a second."""
    crowded = checks > FIRST_RUNS_PER_S * 10.0
    return phase * (interval_s if crowded else min(interval_s, 10.0))


class ProbeRun(NamedTuple):
    succeeded: bool
    elapsed_ms: float
    message: str
    degraded: bool = False  # passed with a warning (a certificate that expires soon)


async def probe(check: CheckConfig, context: ProbeContext | None = None) -> ProbeRun:
    """Every outcome of one run, never an exception. A run slower than the check's
    `max_response_ms` fails, whatever the probe found."""
    started = time.perf_counter()
    degraded = False
    try:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for drops a cancellation
        # that arrives as the probe completes, and the check's loop would never stop.
        async with asyncio.timeout(check.timeout_s):
            outcome = await probe_for(check)(check, context or ProbeContext())
        succeeded, message, degraded = True, outcome.message, outcome.degraded
    except TimeoutError:
        succeeded, message = False, f"timed out after {check.timeout_s:g} s"
    except Exception as error:  # noqa: BLE001 - any failure of the dependency is a result
        succeeded, message = False, describe(error)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if succeeded and check.max_response_ms is not None and elapsed_ms > check.max_response_ms:
        succeeded, degraded = False, False
        limit = f"max_response_ms {check.max_response_ms:g}"
        message = f"answered in {elapsed_ms:.0f} ms, more than {limit}: {message}"
    return ProbeRun(succeeded, elapsed_ms, message, degraded)


class Monitor:
    def __init__(
        self,
        pool: asyncpg.Pool,
        broker: KafkaBroker | None,
        topic_prefix: str,
        is_leader: Callable[[], bool] = lambda: True,
        supervisor: Supervisor | None = None,
        quorum: Quorum | None = None,
    ) -> None:
        self.pool = pool
        self.quorum = quorum or Quorum()
        # Every schedule and both publishing loops run supervised (restarted with backoff;
        # /healthz fails while one keeps failing).
        self.supervisor = supervisor or Supervisor()
        self._incidents_topic = topic_name(Topic.HEALTH_INCIDENTS, topic_prefix)
        self.feed = (
            KafkaFeed(broker, pool, self._incidents_topic, self.supervisor)
            if broker is not None
            else None
        )
        self.decider = IncidentDecider(pool, self.quorum, self.feed)
        self.is_leader = is_leader
        self.rollups = RollupWriter(pool, self.supervisor, self.quorum.verdicts_kept_s)
        self.results = ResultWriter(pool, self.supervisor, self._written)
        self.checks: dict[str, CheckConfig] = {}
        self.states: dict[str, CheckState] = {}
        self.latest: dict[str, CheckResult] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._restored = False
        self._restoring = asyncio.Lock()
        self._soon: set[asyncio.Task[None]] = set()
        self._checks_topic = topic_name(Topic.HEALTH_CHECKS, topic_prefix)
        self._context = ProbeContext(pool=pool)

    def apply(self, config: HealthConfig) -> None:
        """Start, restart or stop check schedules to match `config` (a reload)."""
        if self.feed is not None:
            self.feed.start()
        wanted = {check.name: check for check in config.checks}
        self.rollups.start()
        self.results.start()
        self.rollups.forget(set(wanted))
        for name in list(self._tasks):
            if name not in wanted or wanted[name] != self.checks.get(name):
                self._tasks.pop(name).cancel()
        for name in list(self.checks):
            if name not in wanted:
                del self.checks[name]
                self.latest.pop(name, None)
        for name, check in wanted.items():
            if check != self.checks.get(name):
                self.states.pop(name, None)  # thresholds may have changed: restore from DB
                self._restored = False
            self.checks[name] = check
            self._locks.setdefault(name, asyncio.Lock())
            if name not in self._tasks:
                self._tasks[name] = self.supervisor.spawn(
                    f"health-check:{name}", functools.partial(self._schedule, check)
                )
        # The configs, schedules and their metrics now live as long as the process: take
        # them out of the cyclic collector's full passes, which walked every one of them
        # and stalled every schedule for 0.7 s and more at 10,000 checks. (Only the cycle
        # collector skips them; whatever a reload drops is still freed by its refcount.)
        gc.freeze()

    async def stop(self) -> None:
        tasks = [*self._tasks.values(), *self._soon]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.results.stop()
        await self.rollups.stop()
        if self.feed is not None:
            await self.feed.stop()

    async def _schedule(self, check: CheckConfig) -> None:
        # Runs are due at phase + k * interval: a slow run does not shift later ones, and
        # a run that overran its slot skips the slots it missed rather than piling up.
        # A stable hash of the name spreads the checks' phases over the whole interval (so
        # 10,000 checks every 60 s make an even 167 runs a second, not bursts), while the
        # first run still comes within 10 s of the start. With more checks than
        # FIRST_RUNS_PER_S a second for those 10 s, the first run is simply at the phase:
        # 1,000 first runs a second (10,000 checks) opened thousands of connections at
        # once and timed most of them out, and a first run squeezed into 50 s would be
        # followed a few seconds later by the run at the phase, doubling the first minute.
        fraction = zlib.crc32(check.name.encode()) / 2**32
        started = time.monotonic()
        await asyncio.sleep(first_run_delay(fraction, check.interval_s, len(self.checks)))
        due = time.monotonic()
        settle = started + fraction * check.interval_s  # the phase the later runs keep
        while True:
            if not self.is_leader():
                # A standby replica: ask again soon, and restore state from Postgres once it
                # leads (the leader meanwhile may have opened or resolved this incident).
                self._restored = False
                self.states.pop(check.name, None)
                await asyncio.sleep(min(check.interval_s, 1.0))
                due = time.monotonic()
                continue
            SCHEDULE_LAG.observe(max(time.monotonic() - due, 0.0))
            try:
                await self.run(check.name)
            except DATABASE_UNAVAILABLE as error:
                # An outage is waited out here; any other failure is the supervisor's to
                # count and restart, and fails /healthz if it persists.
                log.warning(
                    "check run not recorded: database unavailable",
                    extra={"check": check.name, "error": repr(error)},
                )
            due = settle if due < settle else due + check.interval_s
            now = time.monotonic()
            if due < now:
                due += check.interval_s * ((now - due) // check.interval_s + 1)
            await asyncio.sleep(due - now)

    async def _restore(self) -> None:
        """After a start, a reload or gaining the lease: open incidents stay open."""
        open_checks = await incident_store.open_incident_checks(self.pool)
        # With locations, a location's own state is its verdict, not the shared incident.
        failing = (
            await location_store.failing_checks(
                self.pool, self.quorum.location, self.quorum.window_s
            )
            if self.quorum.keeps_verdicts
            else open_checks
        )
        for name, check in self.checks.items():
            if name not in self.states:
                self.states[name] = restored_state(check, name in failing)
        OPEN_INCIDENTS.set(len(open_checks))
        self._restored = True

    async def run(self, name: str) -> CheckResult:
        """Run one check now: probe, status, incident transitions; the result is queued for
        Postgres (`ResultWriter`), and reaches Kafka once written."""
        check = self.checks[name]
        async with self._locks[name]:
            if not self._restored:
                # One restore for everyone: the runs that arrive meanwhile wait for it (a
                # query each took the whole pool when 10,000 checks started).
                async with self._restoring:
                    if not self._restored:
                        await self._restore()
            succeeded, elapsed_ms, message, degraded = await probe(check, self._context)
            state = self.states.get(name) or CheckState()
            if (
                not self.quorum.keeps_verdicts
                and state.incident_open
                and not succeeded
                and not await incident_store.is_open(self.pool, name)
            ):
                # An admin resolved the incident while the check still fails; resolved is
                # final, so this failure opens a new incident.
                state = replace(state, incident_open=False)
            seen = observe(
                state,
                check,
                succeeded=succeeded,
                response_time_ms=elapsed_ms,
                message=message,
                degraded=degraded,
            )
            result = CheckResult(
                service=name,
                status=seen.status,
                response_time_ms=round(elapsed_ms, 3),
                message=message,
                timestamp=datetime.now(UTC),
                kind=check.kind,
                critical=check.critical,
                location=self.quorum.location,
            )
            if self.quorum.keeps_verdicts:
                result, uptime_status = await self.decider.decide(check, result, seen)
                self.results.add(result)
                await self.rollups.record(result, check.component_name, uptime_status)
            else:
                self.results.add(result)
                await self.rollups.record(result, check.component_name, result.status)
                if seen.transition is not None:
                    await self.decider.incident(check, result, seen.transition)
            self.states[name] = seen.state
            self.latest[name] = result
        RESULTS.labels(name, result.status.value).inc()
        STATUS.labels(name, str(check.critical).lower()).set(STATUS_VALUE[result.status.value])
        SECONDS.labels(name).observe(elapsed_ms / 1000)
        return result

    def _written(self, results: Sequence[CheckResult]) -> None:
        """Results whose rows are committed go on the feed (never before)."""
        if self.feed is not None:
            for result in results:
                self.feed.result(
                    self._checks_topic, result.service, result.model_dump_json(by_alias=True)
                )

    def run_soon(self, name: str) -> None:
        """Run one check in the background, as soon as the event loop can (a heartbeat
        ping's verdict); its failure is logged and counted, never raised to the caller."""
        task = asyncio.create_task(self._run_in_background(name))
        self._soon.add(task)
        task.add_done_callback(self._soon.discard)

    async def _run_in_background(self, name: str) -> None:
        try:
            if name in self.checks:  # a reload may have removed it meanwhile
                await self.run(name)
        except Exception as error:  # noqa: BLE001 - logged and counted, the next run retries
            BACKGROUND_FAILED.inc()
            log.warning(
                "check run asked for in the background failed",
                extra={"check": name, "error": repr(error)},
            )

    async def run_now(self, name: str | None = None) -> list[CheckResult]:
        """`performHealthCheck`: every check (or one) now, concurrently."""
        names = [name] if name else list(self.checks)
        results = list(await asyncio.gather(*(self.run(n) for n in names)))
        await self.results.flush()  # answered only once written
        return results
