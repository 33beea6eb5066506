"""Prometheus helpers: RED metrics for HTTP and the `/metrics` endpoint.

`/metrics` shows this process's registry, or, when `PROMETHEUS_MULTIPROC_DIR` names a
directory (set by a supervisor before it starts its worker processes, as ingest's does
with more than one worker), what every process wrote there: prometheus_client's
multiprocess mode, in which only metrics kept in those files are shown (no custom
collectors, no process or GC metrics)."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

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


def exposition() -> Callable[[], bytes]:
    """What `/metrics` answers: this process's registry, or in multiprocess mode every
    process's files in `PROMETHEUS_MULTIPROC_DIR`, merged."""
    directory = os.environ.get(MULTIPROCESS_DIR)
    if not directory:
        return generate_latest
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call] # untyped upstream
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
