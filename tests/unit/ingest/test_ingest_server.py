"""LOOKOUT_INGEST_WORKERS: validated, one worker is the plain single server, and several
run under the supervisor with what they share in a private directory of the run."""

from __future__ import annotations

import gc
import os
import stat
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import ValidationError

from lookout_common.infra.metrics import MULTIPROCESS_DIR
from lookout_common.infra.settings import IngestSettings
from lookout_ingest import server
from lookout_ingest.acceptance import Ingest
from lookout_ingest.app import COLLECTOR_THRESHOLDS, create_app
from lookout_ingest.bootstrap import Services
from lookout_ingest.server import MAX_WORKERS, IngestServerSettings
from lookout_ingest.shared_limits import TABLE_ENV, BucketTable


def test_workers_default_to_one_and_are_read_from_the_environment(monkeypatch) -> None:
    assert IngestServerSettings().ingest_workers == 1
    monkeypatch.setenv("LOOKOUT_INGEST_WORKERS", "3")
    assert IngestServerSettings().ingest_workers == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", str(MAX_WORKERS + 1)])
def test_a_worker_count_that_makes_no_sense_is_refused(monkeypatch, value: str) -> None:
    monkeypatch.setenv("LOOKOUT_INGEST_WORKERS", value)
    with pytest.raises(ValidationError, match="ingest_workers"):
        IngestServerSettings()


def test_one_worker_serves_the_app_in_process(monkeypatch) -> None:
    served: list[dict] = []
    monkeypatch.setattr(server, "serve", lambda app, *args, **kw: served.append(kw))
    monkeypatch.setattr(server, "supervise", lambda settings: pytest.fail("supervised"))
    server.run(IngestServerSettings())
    assert served == [{"proxy_headers": False}]


def test_several_workers_go_to_the_supervisor_with_a_private_run_directory(
    monkeypatch,
) -> None:
    """The workers are started with the directory of the multiprocess metrics and the
    rate limits' table in their environment; the directory is the run's own and goes
    with it."""
    for name in (MULTIPROCESS_DIR, TABLE_ENV):  # run() sets them; undone after the test
        monkeypatch.setenv(name, "")
    seen: dict = {}

    class Recorder:
        def __init__(self, config, sockets) -> None:
            seen["config"], seen["sockets"] = config, sockets

        def run(self) -> None:
            metrics, table = Path(os.environ[MULTIPROCESS_DIR]), Path(os.environ[TABLE_ENV])
            seen["run_dir"] = metrics.parent
            seen["mode"] = stat.S_IMODE(metrics.parent.stat().st_mode)
            seen["metrics_files"] = list(metrics.iterdir())
            seen["table"] = BucketTable.open(table)
            seen["table"].close()

    monkeypatch.setattr(server, "WorkerSupervisor", Recorder)
    server.run(IngestServerSettings(ingest_workers=2, http_host="127.0.0.1", http_port=0))
    for sock in seen["sockets"]:
        sock.close()
    config = seen["config"]
    assert config.app == "lookout_ingest.server:worker_app"
    assert config.factory is True
    assert config.workers == 2
    # X-Forwarded-For stays ingest's own decision in every worker.
    assert config.proxy_headers is False
    assert seen["mode"] == 0o700
    assert seen["metrics_files"] == []
    assert not seen["run_dir"].exists()
    # Named after its supervisor, so that a later start can tell whether it still runs.
    owner = f"{server.RUN_PREFIX}{os.getpid()}-{server.started_at(os.getpid())}-"
    assert seen["run_dir"].name.startswith(owner)


def test_run_directories_whose_supervisor_is_gone_are_removed(tmp_path: Path) -> None:
    me, started = os.getpid(), server.started_at(os.getpid())
    assert started is not None
    assert server.started_at(0) is None
    names = {
        "live": f"{server.RUN_PREFIX}{me}-{started}-abc123",
        "dead": f"{server.RUN_PREFIX}{exited_pid()}-123-x_y",
        "reused": f"{server.RUN_PREFIX}{me}-{int(started) + 1}-q",  # same pid, other process
        "other": f"{server.RUN_PREFIX}q1x2z3",  # not named after a supervisor
    }
    for name in names.values():
        (tmp_path / name / "metrics").mkdir(parents=True)
        (tmp_path / name / "rate-limits").write_bytes(b"table")
    file = tmp_path / f"{server.RUN_PREFIX}{exited_pid()}-1-file"
    file.write_text("not a directory")

    removed = server.remove_stale_runs(tmp_path)

    assert sorted(removed) == sorted(tmp_path / names[key] for key in ("dead", "reused"))
    left = {path.name for path in tmp_path.iterdir()}
    assert left == {names["live"], names["other"], file.name}


def exited_pid() -> int:
    """The pid of a child that has exited and been reaped: no process has it now."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


async def test_while_serving_the_collector_skips_start_up_objects_and_runs_rarely() -> None:
    """The lifespan freezes what start-up built and raises the collector's thresholds
    (the default ran it ~23 times per 1,000 events); both are undone when it ends."""
    before = gc.get_threshold()
    gc.unfreeze()

    @asynccontextmanager
    async def wiring(settings: IngestSettings) -> AsyncIterator[Services]:
        ingest = Ingest(settings, keys=None, publisher=None)  # type: ignore[arg-type]
        try:
            yield Services(settings=settings, ingest=ingest, readiness={})
        finally:
            ingest.close()

    app = create_app(IngestSettings(), wiring=wiring)
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS
        assert COLLECTOR_THRESHOLDS[0] >= 20 * before[0]
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
