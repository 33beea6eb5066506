"""Applying a config takes what lives as long as the schedules (configs, tasks, metrics)
out of the cyclic collector's full passes, which otherwise walk them all and stall every
schedule (0.7 s and more at 10,000 checks)."""

from __future__ import annotations

import gc

from lookout_health.config import CustomCheck, HealthConfig
from lookout_health.monitor import Monitor


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
