"""Running one check: a timeout or an error is a result, never an exception; custom checks
come from `add_custom_check`, a module path or an entry point."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from lookout_health.checks.custom import add_custom_check, registered_checks
from lookout_health.config import CustomCheck
from lookout_health.monitor import probe

pytestmark = pytest.mark.usefixtures("empty_registry")


def custom(name: str, **fields) -> CustomCheck:
    return CustomCheck(name=name, kind="custom", **fields)


async def hangs_forever() -> str:
    await asyncio.sleep(3600)
    return "never"


async def test_a_hanging_check_is_a_timeout_result_at_its_configured_timeout() -> None:
    check = add_custom_check("hangs", hangs_forever, timeout_s=0.2)
    started = time.perf_counter()
    succeeded, elapsed_ms, message, _ = await probe(check)
    took = time.perf_counter() - started
    assert (succeeded, message) == (False, "timed out after 0.2 s")
    assert 200 <= elapsed_ms < 320
    assert took < 0.35


async def test_hanging_checks_run_side_by_side_without_waiting_for_each_other() -> None:
    checks = [add_custom_check(f"hangs-{n}", hangs_forever, timeout_s=0.2) for n in range(20)]
    started = time.perf_counter()
    outcomes = await asyncio.gather(*(probe(check) for check in checks))
    assert all(not outcome.succeeded for outcome in outcomes)
    assert time.perf_counter() - started < 0.5


async def test_an_error_is_a_failed_result_with_a_one_line_reason() -> None:
    async def broken() -> str:
        raise ConnectionRefusedError("connect to 10.0.0.7:5432 refused\nsecond line")

    check = add_custom_check("broken", broken, critical=False)
    succeeded, elapsed_ms, message, _ = await probe(check)
    assert (succeeded, message) == (
        False,
        "ConnectionRefusedError: connect to 10.0.0.7:5432 refused",
    )
    assert elapsed_ms >= 0


async def test_a_registered_check_runs_like_a_configured_one() -> None:
    async def payments() -> str:
        return "payments provider answered"

    async def silent() -> None:
        return None

    check = add_custom_check("payments", payments, interval_s=15, degraded_after_ms=300)
    add_custom_check("silent", silent)
    assert check in registered_checks()
    assert (check.interval_s, check.timeout_s, check.degraded_after_ms) == (15, 10, 300)
    assert (await probe(check))[::2] == (True, "payments provider answered")
    assert (await probe(custom("silent")))[::2] == (True, "Custom check passed.")


async def test_a_module_path_that_does_not_load_is_a_failed_result() -> None:
    missing = await probe(custom("m", function="no_such_module_here:check"))
    assert missing[0] is False
    assert missing[2].startswith("cannot load no_such_module_here:check")
    attribute = await probe(custom("a", function="asyncio:no_such_function"))
    assert attribute[0] is False
    assert attribute[2].startswith("cannot load asyncio:no_such_function")


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real installed distribution declaring a `lookout.health_checks` entry point."""
    (tmp_path / "marketplace_checks.py").write_text(
        "async def search_index():\n    return 'search index has 1204 therapists'\n"
    )
    info = tmp_path / "marketplace_checks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: marketplace-checks\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        "[lookout.health_checks]\nsearch-index = marketplace_checks:search_index\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "marketplace_checks", raising=False)
    return "search-index"


async def test_an_entry_point_names_a_check_from_an_installed_package(installed_plugin) -> None:
    found = await probe(custom("search", entry_point=installed_plugin))
    assert found[::2] == (True, "search index has 1204 therapists")
    absent = await probe(custom("absent", entry_point="not-declared-anywhere"))
    assert absent[::2] == (False, "no entry point 'not-declared-anywhere' in lookout.health_checks")


async def test_a_run_cancelled_as_its_probe_answers_is_cancelled() -> None:
    """Stopping the monitor cancels every check's run; a cancellation arriving in the same
    turn as the probe's answer must still cancel it (Python 3.11's wait_for dropped it, and
    the check's loop then ran on, so `monitor.stop()` never returned)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    async def answers_when_told() -> str:
        return await answer

    check = add_custom_check("answers", answers_when_told, timeout_s=5)
    running = asyncio.create_task(probe(check))
    for _ in range(10):
        await asyncio.sleep(0)  # the probe is now waiting for its answer
    answer.set_result("ok")
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
