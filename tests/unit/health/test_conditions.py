"""Conditions on a run: response time (`max_response_ms`), JSON paths on the body."""

from __future__ import annotations

import asyncio

from lookout_common.contracts.health_events import CheckStatus
from lookout_health.checks.custom import add_custom_check
from lookout_health.incidents import CheckState, observe
from lookout_health.monitor import probe


async def test_a_run_slower_than_max_response_ms_fails_with_its_time() -> None:
    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "answered"

    check = add_custom_check("slow-answer", slow)
    check = check.model_copy(update={"max_response_ms": 10.0})
    run = await probe(check)
    assert not run.succeeded
    assert run.message.startswith("answered in ")
    assert run.message.endswith(" ms, more than max_response_ms 10: answered")
    fast = await probe(check.model_copy(update={"max_response_ms": 5000.0}))
    assert fast.succeeded
    assert fast.message == "answered"


def test_a_success_flagged_degraded_is_degraded_and_still_a_success() -> None:
    check = add_custom_check("flagged", lambda: None)  # type: ignore[arg-type, return-value]
    seen = observe(
        CheckState(failures=2),
        check,
        succeeded=True,
        response_time_ms=1.0,
        message="certificate expires in 3 days",
        degraded=True,
    )
    assert seen.status is CheckStatus.DEGRADED
    assert seen.state.failures == 0
    assert seen.state.successes == 1
