"""Real Lookout service processes for integration and end-to-end tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from lookout_common.infra.settings import LookoutSettings
from lookout_devstack.embedded.process import free_port, spawn, stop_process


class ServiceProcess:
    """`python -m <module>` with LOOKOUT_* settings, its log kept for failures."""

    def __init__(self, module: str, env: dict[str, str], log_dir: Path) -> None:
        self.module = module
        self.port = int(env.get("LOOKOUT_HTTP_PORT") or free_port())
        self.env = {**os.environ, **env, "LOOKOUT_HTTP_PORT": str(self.port)}
        self.log_path = log_dir / f"{module}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, wait_ready: bool = True, timeout: float = 30.0) -> ServiceProcess:
        self.process = spawn([sys.executable, "-m", self.module], self.log_path, env=self.env)
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.module} exited early:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.module} not ready in {timeout}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, sig=signal.SIGTERM, timeout=30)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        if self.process is not None:
            stop_process(self.process, sig=signal.SIGKILL, timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def settings_env(settings: LookoutSettings, **extra: str) -> dict[str, str]:
    """The LOOKOUT_* environment a service process needs to share `settings`."""
    env = {
        "LOOKOUT_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "LOOKOUT_DATABASE_URL": settings.dsn(),
        "LOOKOUT_TOPIC_PREFIX": settings.topic_prefix,
        "LOOKOUT_TIMEZONE": settings.timezone,
        "LOOKOUT_LOG_LEVEL": "INFO",
    }
    env.update(extra)
    return env
