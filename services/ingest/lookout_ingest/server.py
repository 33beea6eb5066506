"""The ingest process: one uvicorn server, or several worker processes sharing its port.

`LOOKOUT_INGEST_WORKERS` (default 1) sets how many. With more than one, uvicorn's
supervisor binds the port once and starts that many workers on it; each builds its own
services in its own lifespan (Kafka producer, Postgres pool, key cache, dedupe cache),
answers `/healthz` and `/readyz` for itself, and flushes its producer on SIGTERM before it
exits. The supervisor pings every worker: one that died or stopped answering is killed
and replaced, and one that fails during start-up stops the whole process (it would fail
the same way on every restart).

What the workers share lives in a private directory the supervisor makes for the run
(and removes when it stops): the rate limits' table of buckets (`shared_limits`), and
prometheus_client's multiprocess files (`PROMETHEUS_MULTIPROC_DIR`), so that `/metrics`
on any worker counts what all of them did. Both are named to the workers in the
environment they start with. A supervisor killed outright (SIGKILL, the OOM killer)
cannot remove its directory, so the directory is named after it (its pid and the
instant it started) and the next start removes every such directory whose supervisor is
gone; its workers get SIGTERM when it dies (Linux's parent-death signal) and exit.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from prometheus_client.multiprocess import mark_process_dead
from pydantic import Field
from uvicorn.supervisors import Multiprocess

from lookout_common.infra.logging import configure_logging
from lookout_common.infra.metrics import MULTIPROCESS_DIR
from lookout_common.infra.service import serve
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.app import create_app
from lookout_ingest.bootstrap import bootstrap
from lookout_ingest.shared_limits import TABLE_ENV, BucketTable

log = logging.getLogger("lookout.ingest")

SERVICE = "ingest"
MAX_WORKERS = 64
# A run directory: lookout-ingest-<supervisor pid>-<its start time in clock ticks>-<random>.
RUN_PREFIX = "lookout-ingest-"
_RUN_NAME = re.compile(rf"{RUN_PREFIX}(\d+)-(\d+)-\w+")
_PR_SET_PDEATHSIG = 1


class IngestServerSettings(IngestSettings):
    """`IngestSettings` and how many worker processes serve them."""

    ingest_workers: int = Field(
        1,
        ge=1,
        le=MAX_WORKERS,
        description="Worker processes sharing ingest's port, its rate limits and its "
        "/metrics (each with its own producer, pool and dedupe cache)",
    )


def worker_app() -> FastAPI:
    """The app of one worker process, built in that process from the environment (the
    supervisor's settings, and the rate limits' table it made)."""
    table = Path(os.environ[TABLE_ENV])
    run = _RUN_NAME.fullmatch(table.parent.name)
    assert run is not None, f"{TABLE_ENV} is not in a run directory"
    stop_with_supervisor(int(run[1]))
    settings = IngestSettings()
    configure_logging(SERVICE, settings.log_level)
    return create_app(settings, functools.partial(bootstrap, shared_limits=table))


def stop_with_supervisor(supervisor: int) -> None:
    """Have the kernel send this worker SIGTERM when its supervisor dies, however it dies
    (else a SIGKILLed supervisor leaves its workers serving the port)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != supervisor:  # it died before the call: no signal will come
        os.kill(os.getpid(), signal.SIGTERM)


def started_at(pid: int) -> str | None:
    """When process `pid` started (field 22 of /proc/<pid>/stat, clock ticks after boot:
    with the pid, it names one process even after the pid is reused); None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]  # the fields after the command's name


def remove_stale_runs(directory: Path) -> list[Path]:
    """Remove this user's run directories in `directory` whose supervisor is gone (killed
    before it could remove them); the removed ones."""
    removed = []
    for path in directory.glob(f"{RUN_PREFIX}*"):
        named = _RUN_NAME.fullmatch(path.name)
        if named is None or path.is_symlink() or not path.is_dir():
            continue
        if path.stat().st_uid != os.getuid() or started_at(int(named[1])) == named[2]:
            continue  # another user's, or its supervisor still runs
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


class WorkerSupervisor(Multiprocess):
    """uvicorn's supervisor, which also marks each worker it replaces dead in the
    multiprocess metrics (its live gauges' files go; its counters stay counted)."""

    def keep_subprocess_alive(self) -> None:
        before = {process.pid for process in self.processes}
        super().keep_subprocess_alive()
        for pid in before - {process.pid for process in self.processes}:
            if pid is not None:
                mark_process_dead(pid, os.environ[MULTIPROCESS_DIR])  # type: ignore[no-untyped-call]


def run(settings: IngestServerSettings) -> None:
    """Serve until SIGTERM; see the module docstring."""
    # Whether X-Forwarded-For is believed is ingest's own setting (trust_forwarded_for):
    # uvicorn would otherwise rewrite the client address from it for loopback peers,
    # letting any local client pick the IP that is rate limited and stored.
    if settings.ingest_workers == 1:
        serve(create_app(settings), settings, SERVICE, proxy_headers=False)
        return
    configure_logging(SERVICE, settings.log_level)
    log.info(
        "starting",
        extra={
            "http": f"{settings.http_host}:{settings.http_port}",
            "kafka": settings.kafka_bootstrap,
            "workers": settings.ingest_workers,
        },
    )
    scratch = Path(tempfile.gettempdir())
    if removed := remove_stale_runs(scratch):
        log.warning("removed stale run directories", extra={"directories": list(map(str, removed))})
    prefix = f"{RUN_PREFIX}{os.getpid()}-{started_at(os.getpid())}-"
    with tempfile.TemporaryDirectory(prefix=prefix, dir=scratch) as shared:
        metrics = Path(shared, "metrics")
        metrics.mkdir()
        table = Path(shared, "rate-limits")
        BucketTable.create(table)
        # Spawned workers start with this environment (prometheus_client reads its
        # directory when it is first imported there).
        os.environ[MULTIPROCESS_DIR] = str(metrics)
        os.environ[TABLE_ENV] = str(table)
        supervise(settings)


def supervise(settings: IngestServerSettings) -> None:
    """`settings.ingest_workers` workers of `worker_app` on one bound socket, under
    `WorkerSupervisor`, until SIGTERM."""
    config = uvicorn.Config(
        f"{__name__}:worker_app",
        factory=True,
        workers=settings.ingest_workers,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        timeout_graceful_shutdown=30,
        lifespan="on",
        proxy_headers=False,
    )
    WorkerSupervisor(config, sockets=[config.bind_socket()]).run()
