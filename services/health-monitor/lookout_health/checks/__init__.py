"""Probes: one module per check kind. A probe returns a message on success and raises
`ProbeFailed` (or any error) on failure; timing and timeouts are the runner's job."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lookout_health.checks.base import ProbeFailed
from lookout_health.checks.custom import run_custom
from lookout_health.checks.database import run_postgres, run_table
from lookout_health.checks.kafka import run_kafka
from lookout_health.checks.network import run_dns, run_http, run_tcp
from lookout_health.checks.storage import run_directory, run_s3

Probe = Callable[[Any], Awaitable[str]]

PROBES: dict[str, Probe] = {
    "postgres": run_postgres,
    "table": run_table,
    "kafka": run_kafka,
    "s3": run_s3,
    "directory": run_directory,
    "http": run_http,
    "tcp": run_tcp,
    "dns": run_dns,
    "custom": run_custom,
}

__all__ = ["PROBES", "Probe", "ProbeFailed"]
