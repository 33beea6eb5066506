"""Probes: one module per check kind. A probe returns a message on success and raises
`ProbeFailed` (or any error) on failure; timing and timeouts are the runner's job.

Every probe in `PROBES` passes its message, or its error's, through `redact` first, so
no URL credential, query string or secret of the check leaves the probe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from lookout_health.checks.base import ProbeFailed, describe
from lookout_health.checks.custom import run_custom
from lookout_health.checks.database import run_postgres, run_table
from lookout_health.checks.kafka import run_kafka
from lookout_health.checks.network import run_dns, run_http, run_tcp
from lookout_health.checks.redact import redact, secrets_of
from lookout_health.checks.storage import run_directory, run_s3

Probe = Callable[[Any], Awaitable[str]]


def redacted(probe: Probe) -> Probe:
    """`probe`, whose message and failure reason are redacted for its check."""

    async def run(check: Any) -> str:
        try:
            return redact(await probe(check), secrets_of(check))
        except TimeoutError:
            raise  # the runner reports its own "timed out after" message
        except Exception as error:  # noqa: BLE001 - every failure's text is redacted
            raise ProbeFailed(redact(describe(error), secrets_of(check))) from None

    return run


PROBES: dict[str, Probe] = {
    kind: redacted(probe)
    for kind, probe in {
        "postgres": run_postgres,
        "table": run_table,
        "kafka": run_kafka,
        "s3": run_s3,
        "directory": run_directory,
        "http": run_http,
        "tcp": run_tcp,
        "dns": run_dns,
        "custom": run_custom,
    }.items()
}

__all__ = ["PROBES", "Probe", "ProbeFailed"]
