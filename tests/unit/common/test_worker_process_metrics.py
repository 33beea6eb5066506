"""In multiprocess mode `/metrics` shows each live worker's CPU time and resident memory,
read from /proc at scrape time: the processes that wrote into the metrics directory and
share the scraping process's parent, not one that exited nor one with another parent."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from lookout_common.infra.metrics import WorkerProcesses


def samples(collector: WorkerProcesses) -> dict[str, dict[int, float]]:
    return {
        family.name: {int(sample.labels["pid"]): sample.value for sample in family.samples}
        for family in collector.collect()
    }


def test_live_workers_cpu_and_memory_are_read_from_proc(tmp_path: Path, monkeypatch) -> None:
    busy = "sum(range(10_000_000)); import time; time.sleep(60)"
    workers = [subprocess.Popen([sys.executable, "-c", busy]) for _ in range(2)]
    exited = subprocess.Popen(["true"])
    exited.wait()
    try:
        for pid in (*(w.pid for w in workers), exited.pid, os.getpid()):
            (tmp_path / f"counter_{pid}.db").write_bytes(b"")
        (tmp_path / "not-a-process-file").write_bytes(b"")
        # The test process stands in for the supervisor: its children are the workers
        # (and it is not its own child, so it is left out).
        monkeypatch.setattr(os, "getppid", os.getpid)
        wanted = {w.pid for w in workers}
        for _ in range(100):  # until both have run their sum
            found = samples(WorkerProcesses(str(tmp_path)))
            if set(found["lookout_worker_cpu_seconds"]) == wanted and all(
                value > 0.05 for value in found["lookout_worker_cpu_seconds"].values()
            ):
                break
            time.sleep(0.1)
        cpu, memory = (
            found["lookout_worker_cpu_seconds"],
            found["lookout_worker_resident_memory_bytes"],
        )
        assert set(cpu) == set(memory) == wanted
        for worker in workers:
            process = psutil.Process(worker.pid)
            times = process.cpu_times()
            assert 0.05 < cpu[worker.pid] <= times.user + times.system + 0.02
            assert memory[worker.pid] == pytest.approx(process.memory_info().rss, rel=0.2)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
