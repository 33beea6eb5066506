"""Probes: one module per family of check kinds, and the registry that maps each check
config class to its probe. A new kind is one config model (in `lookout_health.config`,
listed in `CheckConfig`) and one `register(ThatCheck, probe)` line here; the import
fails while a class in `CheckConfig` has no probe.

A probe returns a message (or a `ProbeOutcome`) on success and raises `ProbeFailed` (or
any error) on failure; timing and timeouts are the runner's job. Every registered probe
passes its message, or its error's, through `redact` first, so no URL credential, query
string or secret of the check leaves the probe."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg

from lookout_health.checks.base import ProbeFailed, ProbeOutcome, describe
from lookout_health.checks.custom import run_custom
from lookout_health.checks.database import run_postgres, run_table
from lookout_health.checks.heartbeat import run_heartbeat
from lookout_health.checks.kafka import run_kafka
from lookout_health.checks.network import run_dns, run_http, run_tcp
from lookout_health.checks.redact import redact, secrets_of
from lookout_health.checks.storage import run_directory, run_s3
from lookout_health.checks.tls import run_tls
from lookout_health.config import (
    CHECK_CLASSES,
    CheckBase,
    CustomCheck,
    DirectoryCheck,
    DnsCheck,
    HeartbeatCheck,
    HttpCheck,
    KafkaCheck,
    PostgresCheck,
    S3Check,
    TableCheck,
    TcpCheck,
    TlsCheck,
    kind_of,
)

C = TypeVar("C", bound=CheckBase)


@dataclass(frozen=True)
class ProbeContext:
    """What the monitor lends a probe besides its check: its Postgres pool (heartbeat
    checks read their last ping there), None when a probe runs alone."""

    pool: asyncpg.Pool | None = None


ProbeResult = str | ProbeOutcome
Probe = Callable[[Any, ProbeContext], Awaitable[ProbeOutcome]]

_PROBES: dict[type[CheckBase], Probe] = {}


def register(
    check_class: type[C],
    probe: Callable[[C], Awaitable[ProbeResult]] | None = None,
    *,
    with_context: Callable[[C, ProbeContext], Awaitable[ProbeResult]] | None = None,
) -> None:
    """Make `probe` (or `with_context`, which also takes the `ProbeContext`) the probe of
    every check of `check_class`, its messages and failures redacted."""
    if (probe is None) == (with_context is None):
        raise TypeError("register takes exactly one of probe and with_context")

    async def run(check: C, context: ProbeContext) -> ProbeOutcome:
        try:
            result = await probe(check) if probe else await with_context(check, context)  # type: ignore[misc]
        except TimeoutError:
            raise  # the runner reports its own "timed out after" message
        except Exception as error:  # noqa: BLE001 - every failure's text is redacted
            raise ProbeFailed(redact(describe(error), secrets_of(check))) from None
        outcome = result if isinstance(result, ProbeOutcome) else ProbeOutcome(result)
        return ProbeOutcome(redact(outcome.message, secrets_of(check)), outcome.degraded)

    _PROBES[check_class] = run


def probe_for(check: CheckBase) -> Probe:
    """The registered probe of `check`'s class."""
    return _PROBES[type(check)]


register(PostgresCheck, run_postgres)
register(TableCheck, run_table)
register(KafkaCheck, run_kafka)
register(S3Check, run_s3)
register(DirectoryCheck, run_directory)
register(HttpCheck, run_http)
register(TcpCheck, run_tcp)
register(TlsCheck, run_tls)
register(DnsCheck, run_dns)
register(CustomCheck, run_custom)
register(HeartbeatCheck, with_context=lambda check, context: run_heartbeat(check, context.pool))

if missing := [kind_of(c) for c in CHECK_CLASSES if c not in _PROBES]:
    raise ImportError(f"check kinds without a probe: {', '.join(missing)}")

__all__ = ["ProbeContext", "ProbeFailed", "ProbeOutcome", "probe_for", "register"]
