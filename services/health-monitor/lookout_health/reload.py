"""Watching the config file: a valid change is applied at once; an invalid one is
refused with file, line and reason while the last good config keeps running."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import Counter
from pydantic import BaseModel

from lookout_health.config import ConfigError, HealthConfig, load_config

log = logging.getLogger("lookout.health.config")

RELOADS = Counter(
    "lookout_health_config_reloads_total", "Config file reloads by outcome", ["outcome"]
)


class ConfigProblem(BaseModel):
    file: str
    line: int | None
    reason: str


class ConfigState(BaseModel):
    path: str | None
    loaded_at: datetime | None = None
    checks: list[str] = []
    error: ConfigProblem | None = None


class ConfigWatcher:
    def __init__(self, path: Path, apply: Callable[[HealthConfig], None], poll_s: float) -> None:
        self.path = path
        self._apply = apply
        self._poll_s = poll_s
        # "never read" differs from "unreadable" (None), so a missing file at start-up is
        # reported rather than mistaken for an unchanged one.
        self._digest: str | None = "never read"
        self.state = ConfigState(path=str(path))

    def load(self) -> None:
        """Read the file now; raises ConfigError if the very first load is invalid."""
        digest = self._read_digest()
        if digest == self._digest:
            return
        try:
            config = load_config(self.path)
        except Exception as error:  # whatever a bad file raises, it is refused
            if not isinstance(error, ConfigError):
                error = ConfigError(self.path, None, f"{type(error).__name__}: {error}")
            RELOADS.labels("refused").inc()
            self.state.error = ConfigProblem(file=error.path, line=error.line, reason=error.reason)
            log.error(
                "config refused; the last good config keeps running", extra={"error": str(error)}
            )
            self._digest = digest  # reported once, until the file changes again
            if self.state.loaded_at is None:
                raise error from None
            return
        self._apply(config)
        # Only once applied: if applying fails, the watcher's restart applies it again.
        self._digest = digest
        RELOADS.labels("applied").inc()
        self.state = ConfigState(
            path=str(self.path),
            loaded_at=datetime.now(UTC),
            checks=[check.name for check in config.checks],
        )
        log.info("config applied", extra={"checks": len(config.checks)})

    def _read_digest(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    async def watch(self) -> None:
        """Poll for changes; `load` must have succeeded once (at start-up) before."""
        while True:
            await asyncio.sleep(self._poll_s)
            self.load()
