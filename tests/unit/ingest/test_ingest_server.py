"""LOOKOUT_INGEST_WORKERS: validated, and one worker is the plain single server."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from lookout_ingest import server
from lookout_ingest.server import MAX_WORKERS, IngestServerSettings


def test_workers_default_to_one_and_are_read_from_the_environment(monkeypatch) -> None:
    assert IngestServerSettings().ingest_workers == 1
    monkeypatch.setenv("LOOKOUT_INGEST_WORKERS", "3")
    assert IngestServerSettings().ingest_workers == 3


@pytest.mark.parametrize("value", ["0", "-1", "two", str(MAX_WORKERS + 1)])
def test_a_worker_count_that_makes_no_sense_is_refused(monkeypatch, value: str) -> None:
    monkeypatch.setenv("LOOKOUT_INGEST_WORKERS", value)
    with pytest.raises(ValidationError, match="ingest_workers"):
        IngestServerSettings()


def test_one_worker_serves_the_app_in_process_and_several_go_to_uvicorns_supervisor(
    monkeypatch,
) -> None:
    served: list[tuple] = []
    monkeypatch.setattr(server, "serve", lambda app, *args, **kw: served.append(("one", kw)))
    monkeypatch.setattr(server.uvicorn, "run", lambda app, **kw: served.append((app, kw)))
    server.run(IngestServerSettings())
    server.run(IngestServerSettings(ingest_workers=2, http_port=8123))
    assert served[0] == ("one", {"proxy_headers": False})
    target, options = served[1]
    assert target == "lookout_ingest.server:worker_app"
    assert options["factory"] is True
    assert options["workers"] == 2
    assert options["port"] == 8123
    # X-Forwarded-For stays ingest's own decision in every worker.
    assert options["proxy_headers"] is False
