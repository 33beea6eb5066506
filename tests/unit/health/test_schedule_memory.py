"""Schedules at scale: first runs that do not crowd the start, and what lives as long as
the schedules (configs, tasks, metrics) left out of the cyclic collector's full passes,
which otherwise walk them all and stall every schedule (0.7 s and more at 10,000 checks)."""

from __future__ import annotations

import gc

from lookout_health.config import CustomCheck, HealthConfig
from lookout_health.monitor import Monitor, first_run_delay


async def test_applied_schedules_are_left_out_of_full_collections() -> None:
    gc.unfreeze()
    checks = [
        CustomCheck(name=f"frozen-{n}", kind="custom", function="asyncio:sleep") for n in range(3)
    ]
    # A standby replica: the schedules exist but never run, so no database is needed.
    monitor = Monitor(pool=None, broker=None, topic_prefix="test", is_leader=lambda: False)  # type: ignore[arg-type]
    try:
        monitor.apply(HealthConfig(checks=checks))
        assert gc.get_freeze_count() > 0
    finally:
        await monitor.stop()
        gc.unfreeze()


def test_first_runs_come_within_ten_seconds_unless_that_would_crowd_the_start() -> None:
    # 2,000 checks fit 200 first runs a second in 10 s; 10,000 keep their phase instead
    # (167 a second, the steady rate) rather than 1,000 a second for 10 s.
    assert first_run_delay(0.5, 60, 2_000) == 5.0
    assert first_run_delay(0.5, 4, 2_000) == 2.0
    assert first_run_delay(0.5, 60, 10_000) == 30.0
    assert first_run_delay(0.0, 60, 10_000) == 0.0
