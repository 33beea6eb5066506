"""Prometheus helpers: RED metrics for HTTP and the `/metrics` endpoint.

`/metrics` shows this process's registry, or, when `PROMETHEUS_MULTIPROC_DIR` names a
directory (set by a supervisor before it starts its worker processes, as ingest's does
with more than one worker), what every process wrote there: prometheus_client's
multiprocess mode, in which only metrics kept in those files are shown (no custom
collectors, no process or GC metrics), and each live worker's CPU time and resident
memory, read from /proc by the scrape (`WorkerProcesses`)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

HTTP_REQUESTS = Counter(
    "lookout_http_requests_total",
    "HTTP requests by route, method and status code",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "lookout_http_request_duration_seconds",
    "HTTP request duration by route and method",
    ["route", "method"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

_QUIET_ROUTES = {"/metrics"}
_WRITER = re.compile(r"\w+_(\d+)\.db")  # a process's file: <kind>_<pid>.db
_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


class WorkerProcesses(Collector):
    """`lookout_worker_cpu_seconds{pid}` and `lookout_worker_resident_memory_bytes{pid}`
    of every worker that still runs, read from /proc/<pid>/stat at scrape time (in
    multiprocess mode prometheus_client shows no process metrics, and its process
    collector reads only the process it runs in). A worker is a process that wrote into
    the multiprocess directory (each does as it imports its metrics) and has the
    scraping process's parent (the supervisor), so a pid reused by another process is
    not taken for a worker."""

    def __init__(self, directory: str) -> None:
        self.directory = Path(directory)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        cpu = GaugeMetricFamily(
            "lookout_worker_cpu_seconds",
            "CPU time (user + system) a worker process has used since it started",
            labels=["pid"],
        )
        memory = GaugeMetricFamily(
            "lookout_worker_resident_memory_bytes",
            "Resident memory of a worker process",
            labels=["pid"],
        )
        supervisor = os.getppid()
        writers = {int(m[1]) for f in self.directory.iterdir() if (m := _WRITER.fullmatch(f.name))}
        for pid in sorted(writers):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue  # exited (its counters stay counted)
            # The fields after the command's name: state, ppid, ... (proc(5) numbers the
            # first of them 3: utime is field 14, stime 15, rss 24).
            fields = stat.rpartition(")")[2].split()
            if int(fields[1]) != supervisor:
                continue
            cpu.add_metric([str(pid)], (int(fields[11]) + int(fields[12])) / _TICKS_PER_S)
            memory.add_metric([str(pid)], int(fields[21]) * _PAGE_BYTES)
        yield cpu
        yield memory


def exposition() -> Callable[[], bytes]:
    """What `/metrics` answers: this process's registry, or in multiprocess mode every
    process's files in `PROMETHEUS_MULTIPROC_DIR`, merged, and the live workers' CPU and
    memory."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if not directory:
        return generate_latest
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call] # untyped upstream
    registry.register(WorkerProcesses(directory))
    return lambda: generate_latest(registry)


def instrument(app: FastAPI) -> None:
    """Count and time every request by its route template (not the raw path), and serve
    `/metrics` (see the module docstring)."""
    render = exposition()

    @app.middleware("http")
    async def red_metrics(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", "unmatched")
            if template not in _QUIET_ROUTES:
                HTTP_REQUESTS.labels(template, request.method, str(status)).inc()
                HTTP_DURATION.labels(template, request.method).observe(
                    time.perf_counter() - started
                )

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(render(), media_type=CONTENT_TYPE_LATEST)
