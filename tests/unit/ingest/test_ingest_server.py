"""LOOKOUT_INGEST_WORKERS: validated, one worker is the plain single server, and several
run under the supervisor with what they share in a private directory of the run."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from lookout_common.infra.metrics import MULTIPROCESS_DIR
from lookout_ingest import server
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
