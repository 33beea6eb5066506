"""`lookout up`'s watchdog: restart a service child whose `/healthz` keeps failing.

A child that dies is restarted by `lookout up` at once; a child that stays up but keeps
answering `/healthz` 503 (a background loop keeps failing, see `supervise.py`) or does not
answer at all (hung, stopped) is what an orchestrator's liveness probe catches. On the
one-box stack nothing else watches the children, so `lookout up` probes them itself.

The rule, per child: one probe every `interval_s`, each waiting at most `interval_s` for
an answer; `failures` probes in a row that are not a 200 make the child due for a restart.
A child that is still starting is left alone: failures count only once it has answered
200, or once `start_grace_s` has passed since it was spawned.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx


@dataclass
class ChildHealth:
    """The probe history of one spawn of one child (a restart begins a new one)."""

    spawned_at: float
    answered: bool = False  # has answered 200 since it was spawned
    failures: int = 0  # probes in a row that were not a 200, once counting
    last_failure: str = ""

    def record(self, ok: bool, why: str, now: float, threshold: int, grace_s: float) -> bool:
        """Account for one probe's outcome; True when the child is due for a restart."""
        if ok:
            self.answered = True
            self.failures = 0
            return False
        if not self.answered and now - self.spawned_at < grace_s:
            return False  # still starting
        self.failures += 1
        self.last_failure = why
        return self.failures >= threshold


def probe(url: str, timeout: float) -> tuple[bool, str]:
    """(healthy, why not) from one GET of `url`/healthz."""
    try:
        response = httpx.get(f"{url}/healthz", timeout=timeout)
    except httpx.HTTPError as error:
        return False, f"/healthz did not answer within {timeout:g} s ({type(error).__name__})"
    if response.status_code == 200:
        return True, ""
    why = f"/healthz answered {response.status_code}"
    try:
        failing = response.json().get("failing_loops")
    except ValueError:
        failing = None
    return False, f"{why} (failing loops: {', '.join(failing)})" if failing else why


@dataclass
class Watchdog:
    """Probes children in worker threads; the owner (the main thread, which alone may
    spawn children) calls `due` from its loop and restarts what it returns."""

    interval_s: float
    failures: int
    start_grace_s: float
    children: dict[str, ChildHealth] = field(default_factory=dict)
    _pending: dict[str, tuple[ChildHealth, Future]] = field(default_factory=dict)
    _next_round: float = 0.0
    _pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(thread_name_prefix="watchdog")
    )

    def spawned(self, name: str, now: float | None = None) -> None:
        """`name` was (re)started: forget its history and any probe still in flight."""
        self.children[name] = ChildHealth(time.monotonic() if now is None else now)
        self._pending.pop(name, None)

    def due(self, urls: dict[str, str]) -> list[tuple[str, str]]:
        """(name, why) of the children to restart now; starts the next round of probes
        when it is time. Never blocks on a probe."""
        now = time.monotonic()
        restart = []
        for name, (health, future) in list(self._pending.items()):
            if not future.done():
                continue
            del self._pending[name]
            if self.children.get(name) is not health:
                continue  # a probe of a spawn that has been replaced since
            ok, why = future.result()
            if health.record(ok, why, now, self.failures, self.start_grace_s):
                restart.append((name, f"{why}, {health.failures} probes in a row"))
        if now >= self._next_round:
            self._next_round = now + self.interval_s
            for name, url in urls.items():
                if name in self._pending or name not in self.children:
                    continue
                future = self._pool.submit(probe, url, self.interval_s)
                self._pending[name] = (self.children[name], future)
        return restart

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
