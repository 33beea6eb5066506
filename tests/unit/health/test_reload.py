"""The config watcher: a valid change is applied, an invalid one is refused once with file,
line and reason while the last good config keeps running."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from lookout_common.infra.supervise import Supervisor
from lookout_health.config import ConfigError, HealthConfig
from lookout_health.reload import ConfigWatcher

ONE = "checks:\n  - {name: auth, kind: dns, host: localhost}\n"
TWO = ONE + "  - {name: db, kind: tcp, host: 127.0.0.1, port: 5432}\n"
BROKEN = ONE + "  - {name: db, kind: tcp, host: 127.0.0.1, port: 0}\n"


def reloads(outcome: str) -> float:
    value = REGISTRY.get_sample_value("lookout_health_config_reloads_total", {"outcome": outcome})
    return value or 0.0


class Applied:
    def __init__(self) -> None:
        self.configs: list[HealthConfig] = []

    def __call__(self, config: HealthConfig) -> None:
        self.configs.append(config)

    @property
    def names(self) -> list[list[str]]:
        return [[check.name for check in config.checks] for config in self.configs]


def test_a_changed_file_is_applied_and_an_unchanged_one_is_not(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(ONE)
    applied = Applied()
    watcher = ConfigWatcher(path, applied, poll_s=1.0)
    before = reloads("applied")
    watcher.load()
    watcher.load()
    assert applied.names == [["auth"]]
    path.write_text(TWO)
    watcher.load()
    assert applied.names == [["auth"], ["auth", "db"]]
    assert watcher.state.checks == ["auth", "db"]
    assert watcher.state.error is None
    assert reloads("applied") == before + 2


def test_an_invalid_change_is_refused_once_and_the_last_good_config_keeps_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(ONE)
    applied = Applied()
    watcher = ConfigWatcher(path, applied, poll_s=1.0)
    watcher.load()
    refused_before = reloads("refused")

    path.write_text(BROKEN)
    with caplog.at_level(logging.ERROR, logger="lookout.health.config"):
        watcher.load()
        watcher.load()  # the same broken file again: not reported twice
    assert applied.names == [["auth"]]
    assert watcher.state.checks == ["auth"]
    assert watcher.state.error is not None
    assert (watcher.state.error.file, watcher.state.error.line) == (str(path), 3)
    assert "checks.1.port" in watcher.state.error.reason
    assert len([r for r in caplog.records if "config refused" in r.getMessage()]) == 1
    assert reloads("refused") == refused_before + 1

    path.write_text(TWO)
    watcher.load()
    assert applied.names == [["auth"], ["auth", "db"]]
    assert watcher.state.error is None


def test_an_invalid_file_at_start_up_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(BROKEN)
    applied = Applied()
    with pytest.raises(ConfigError) as caught:
        ConfigWatcher(path, applied, poll_s=1.0).load()
    assert str(caught.value).startswith(f"{path}:3: checks.1.port")
    assert applied.configs == []


def test_a_missing_file_at_start_up_says_it_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match="cannot read"):
        ConfigWatcher(path, Applied(), poll_s=1.0).load()


async def test_watch_picks_up_a_change_within_a_poll_interval(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(ONE)
    applied = Applied()
    watcher = ConfigWatcher(path, applied, poll_s=0.05)
    watcher.load()
    task = asyncio.create_task(watcher.watch())
    try:
        path.write_text(TWO)
        for _ in range(40):
            if len(applied.configs) == 2:
                break
            await asyncio.sleep(0.05)
        assert applied.names == [["auth"], ["auth", "db"]]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_value_yaml_cannot_build_is_refused_with_its_line_and_the_last_good_config_runs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(ONE)
    applied = Applied()
    watcher = ConfigWatcher(path, applied, poll_s=1.0)
    watcher.load()
    # YAML reads 2024-13-01 as a date, and Python refuses month 13 with a ValueError.
    path.write_text(ONE + "  - {name: db, kind: dns, host: 2024-13-01}\n")
    watcher.load()
    assert applied.names == [["auth"]]
    assert watcher.state.checks == ["auth"]
    assert (watcher.state.error.file, watcher.state.error.line) == (str(path), 3)
    assert watcher.state.error.reason == "'2024-13-01' is not a valid value: month must be in 1..12"


def test_any_exception_reading_the_file_is_a_refused_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(ONE)
    applied = Applied()
    watcher = ConfigWatcher(path, applied, poll_s=1.0)
    watcher.load()
    refused_before = reloads("refused")

    def unexpected(path: Path) -> HealthConfig:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("lookout_health.reload.load_config", unexpected)
    path.write_text(TWO)
    watcher.load()
    assert applied.names == [["auth"]]
    assert watcher.state.error.reason == "RecursionError: maximum recursion depth exceeded"
    assert reloads("refused") == refused_before + 1


async def test_a_failing_reload_is_restarted_by_its_supervisor_and_applies_the_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(ONE)
    applied = Applied()
    failures = 2

    def apply(config: HealthConfig) -> None:
        nonlocal failures
        if len(applied.configs) == 1 and failures:
            failures -= 1
            raise RuntimeError("injected apply failure")
        applied(config)

    watcher = ConfigWatcher(path, apply, poll_s=0.02)
    watcher.load()
    labels = {"loop": "health-config-reload"}
    before = REGISTRY.get_sample_value("lookout_loop_restarts_total", labels) or 0.0
    caplog.set_level(logging.ERROR, logger="lookout.supervise")
    async with Supervisor(backoff_s=0.02, unhealthy_failures=2, stable_s=1.0) as loops:
        loops.spawn("health-config-reload", watcher.watch)
        path.write_text(TWO)
        for _ in range(100):
            if loops.failing():
                break
            await asyncio.sleep(0.02)
        assert loops.failing() == ["health-config-reload"]
        for _ in range(200):
            if len(applied.configs) == 2 and not loops.failing():
                break
            await asyncio.sleep(0.02)
        assert applied.names == [["auth"], ["auth", "db"]]  # applied after the restarts
        assert loops.failing() == []
    after = REGISTRY.get_sample_value("lookout_loop_restarts_total", labels)
    assert after - before == 2
    failed = [r for r in caplog.records if getattr(r, "loop", "") == "health-config-reload"]
    assert str(failed[0].exc_info[1]) == "injected apply failure"
