"""Check results written in batches against a real Postgres: a result reaches the feed only
once its row is committed, a failed write keeps every result for the next try, and what
cannot be written (a full queue, a stop while Postgres refuses) is counted, never
dropped silently."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from prometheus_client import REGISTRY

from lookout_common.contracts.health_events import CheckResult, CheckStatus
from lookout_common.infra.supervise import Supervisor
from lookout_health.results import ResultWriter

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)


def result(n: int, message: str = "HTTP 200 from http://api/health.") -> CheckResult:
    return CheckResult(
        service=f"check-{n}",
        status=CheckStatus.HEALTHY,
        response_time_ms=1.5,
        message=message,
        timestamp=T0 + timedelta(seconds=n),
        kind="http",
        critical=True,
    )


def not_written(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "lookout_health_results_not_written_total", {"reason": reason}
    )
    return value or 0.0


async def stored(pool: asyncpg.Pool) -> list[str]:
    rows = await pool.fetch("SELECT check_name FROM system_health_logs ORDER BY checked_at")
    return [row["check_name"] for row in rows]


async def test_results_reach_the_feed_only_once_their_rows_are_committed(pool) -> None:
    seen_in_postgres: list[list[str]] = []
    handed_on: list[str] = []

    def after_write(results: Sequence[CheckResult]) -> None:
        handed_on.extend(r.service for r in results)

    writer = ResultWriter(pool, Supervisor(), after_write)
    for n in range(3):
        writer.add(result(n, message="odd\x00answer" if n == 1 else "ok"))
    assert handed_on == []  # queued, not written yet
    await writer.flush()
    seen_in_postgres.append(await stored(pool))
    assert seen_in_postgres == [["check-0", "check-1", "check-2"]]
    assert handed_on == ["check-0", "check-1", "check-2"]
    # A NUL byte, which Postgres text refuses, is dropped rather than failing the batch.
    assert (
        await pool.fetchval("SELECT message FROM system_health_logs WHERE check_name = 'check-1'")
        == "oddanswer"
    )


async def test_a_refused_write_keeps_every_result_in_order_for_the_next_try(pool) -> None:
    handed_on: list[str] = []
    writer = ResultWriter(pool, Supervisor(), lambda rs: handed_on.extend(r.service for r in rs))
    writer.add(result(0))
    writer.add(result(1))
    await pool.execute("ALTER TABLE system_health_logs RENAME TO system_health_logs_away")
    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await writer.flush()
        writer.add(result(2))
        assert len(writer) == 3
        assert handed_on == []
    finally:
        await pool.execute("ALTER TABLE system_health_logs_away RENAME TO system_health_logs")
    await writer.flush()
    assert await stored(pool) == ["check-0", "check-1", "check-2"]
    assert handed_on == ["check-0", "check-1", "check-2"]


async def test_the_loop_writes_queued_results_without_being_asked(pool) -> None:
    supervisor = Supervisor()
    writer = ResultWriter(pool, supervisor, flush_s=0.05)
    writer.start()
    try:
        writer.add(result(0))

        async def written() -> bool:
            return await stored(pool) == ["check-0"]

        for _ in range(100):
            if await written():
                break
            await asyncio.sleep(0.05)
        assert await written()
    finally:
        await writer.stop()


async def test_a_full_queue_drops_the_oldest_and_counts_it(pool) -> None:
    before = not_written("queue_full")
    writer = ResultWriter(pool, Supervisor(), capacity=3)
    for n in range(5):
        writer.add(result(n))
    await writer.flush()
    assert await stored(pool) == ["check-2", "check-3", "check-4"]
    assert not_written("queue_full") - before == 2


async def test_results_that_cannot_be_written_at_stop_are_counted(pool) -> None:
    before = not_written("stopped")
    writer = ResultWriter(pool, Supervisor())
    writer.add(result(0))
    writer.add(result(1))
    await pool.execute("ALTER TABLE system_health_logs RENAME TO system_health_logs_away")
    try:
        await writer.stop()
    finally:
        await pool.execute("ALTER TABLE system_health_logs_away RENAME TO system_health_logs")
    assert not_written("stopped") - before == 2
    assert len(writer) == 0
