"""Keeping a running `lookout up` whole: a child process that died is restarted, and so is
a service whose `/healthz` keeps answering 503 or nothing (`embedded/watchdog.py`). Each
restart is counted in the stack file (`lookout status` shows it); a child that fails more
than 5 times in a minute stops the stack instead (systemd watches only `lookout up`)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from lookout_devstack.embedded.process import stop_process

if TYPE_CHECKING:
    from lookout_devstack.stack import ServiceSpec, Stack

RESTARTS_PER_MINUTE = 5


def supervise(stack: Stack) -> None:
    """Restart what fails until the stack is asked to stop, or something keeps failing.

    Infrastructure first (S3, broker, Postgres on their own ports and data), so the
    services reconnect to it; nothing acknowledged is lost meanwhile (the log is in S3).
    """
    recent: dict[str, list[float]] = {}
    try:
        while not stack.stop_requested:
            time.sleep(0.5)
            for name, process, restart in _children(stack):
                if process.poll() is None:
                    continue
                if not _restart(stack, recent, name, f"exited ({process.returncode})", restart):
                    return
            by_name = {service.name: service for service in stack.services}
            urls = {service.name: service.url for service in stack.services}
            for name, why in stack.watchdog.due(urls):
                service = by_name[name]
                if not _restart(
                    stack, recent, name, why, lambda service=service: _replace(stack, service)
                ):
                    return
    finally:
        stack.watchdog.close()


def _restart(
    stack: Stack,
    recent: dict[str, list[float]],
    name: str,
    why: str,
    restart: Callable[[], object],
) -> bool:
    """Restart one child, logging why and counting it; False if it keeps crashing."""
    now = time.monotonic()
    recent[name] = [t for t in recent.get(name, []) if now - t < 60] + [now]
    if len(recent[name]) > RESTARTS_PER_MINUTE:
        print(f"! {name} keeps failing ({why}); stopping the stack", file=sys.stderr)
        return False
    print(f"! {name} {why}; restarting", file=sys.stderr, flush=True)
    restart()
    count = stack.restarts.get(name, {}).get("count", 0) + 1
    stack.restarts[name] = {"count": count, "last": why}
    stack.write_stack_file()
    return True


def _replace(stack: Stack, service: ServiceSpec) -> None:
    """Stop a service that is up but unhealthy, then start it as a dead one is."""
    from lookout_devstack.stack import SERVICE_STOP_TIMEOUT_S

    stop_process(service.process, timeout=SERVICE_STOP_TIMEOUT_S)
    stack.start_service(service)


def _children(stack: Stack) -> Iterator[tuple[str, object, Callable[[], object]]]:
    """(name, process, restart) of every child, infrastructure first."""
    if stack.s3 is not None:
        yield "s3", stack.s3.process, stack.start_s3_buckets
    if stack.kafka is not None:
        yield "kafka", stack.kafka.process, stack.kafka.start
    if stack.postgres is not None:
        yield "postgres", stack.postgres.process, stack.postgres.start
    for service in stack.services:
        yield service.name, service.process, lambda service=service: stack.start_service(service)
