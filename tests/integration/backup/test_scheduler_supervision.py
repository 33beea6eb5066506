"""The backup scheduler against real Postgres and Kafka: a Kafka timeout skips one pass and
the schedule is sent on the next, and a scheduler that fails is logged, counted and
restarted, failing /healthz while it keeps failing and recovering once it works."""

from __future__ import annotations

import asyncio
import functools
import logging

import httpx
import pytest
from aiokafka.errors import KafkaTimeoutError
from fastapi import FastAPI
from prometheus_client import REGISTRY
from support.wait import eventually

from lookout_backup import schedules
from lookout_common.contracts.backup_api import ScheduleIn
from lookout_common.contracts.backup_events import BackupCommand
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.db import create_pool
from lookout_common.infra.kafka import make_broker
from lookout_common.infra.service import add_probe_routes
from lookout_common.infra.supervise import Supervisor

pytestmark = pytest.mark.integration


class Sender:
    """Publishes commands to the real topic (acks=all), after raising `failures` times
    (the broker timing out, or a bug); `acked` lists what Kafka acknowledged."""

    def __init__(self, broker, topic: str, failure: Exception, failures: int) -> None:
        self.broker, self.topic = broker, topic
        self.failure, self.failures = failure, failures
        self.acked: list[BackupCommand] = []

    async def __call__(self, command: BackupCommand) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise self.failure
        await self.broker.publish(command.model_dump_json().encode(), self.topic, key=b"backup")
        self.acked.append(command)


def restarts() -> float:
    labels = {"loop": "backup-schedules"}
    return REGISTRY.get_sample_value("lookout_loop_restarts_total", labels) or 0.0


async def due_schedule(pool) -> int:
    schedule = await schedules.add_schedule(
        pool, ScheduleIn(name="nightly", frequency="daily", hour=3)
    )
    await pool.execute(
        "UPDATE backup_schedules SET next_run_at = now() - interval '1 minute' WHERE id = $1",
        schedule.id,
    )
    return schedule.id


async def test_a_kafka_timeout_skips_one_pass_and_the_schedule_is_sent_on_the_next(
    settings,
) -> None:
    pool = await create_pool(settings)
    broker = make_broker(settings, client_id="scheduler-test")
    await broker.start()
    topic = topic_name(Topic.BACKUP_COMMANDS, settings.topic_prefix)
    send = Sender(broker, topic, KafkaTimeoutError(), failures=1)
    try:
        schedule_id = await due_schedule(pool)
        async with Supervisor(backoff_s=0.05, unhealthy_failures=1) as loops:
            loops.spawn(
                "backup-schedules",
                functools.partial(schedules.run_schedules, pool, send, lambda: True, 0.1),
            )
            await eventually(lambda: asyncio.sleep(0, len(send.acked) == 2), timeout=30)
            assert [c.operation for c in send.acked] == ["backup", "prune"]
            assert {c.requested_by for c in send.acked} == {"schedule:nightly"}
            assert loops.failing() == []
            assert loops.loops["backup-schedules"].failures == 0  # never restarted
        next_run = await pool.fetchval(
            "SELECT next_run_at > now() FROM backup_schedules WHERE id = $1", schedule_id
        )
        assert next_run is True
    finally:
        await broker.stop()
        await pool.close()


async def test_a_failing_scheduler_is_restarted_fails_healthz_and_recovers(
    settings, caplog: pytest.LogCaptureFixture
) -> None:
    pool = await create_pool(settings)
    broker = make_broker(settings, client_id="scheduler-test")
    await broker.start()
    topic = topic_name(Topic.BACKUP_COMMANDS, settings.topic_prefix)
    send = Sender(broker, topic, RuntimeError("injected scheduler bug"), failures=4)
    loops = Supervisor(backoff_s=0.05, backoff_max_s=0.1, unhealthy_failures=3, stable_s=0.5)
    app = FastAPI()
    add_probe_routes(app, "backup-worker", dict, loops=loops)
    before = restarts()
    caplog.set_level(logging.ERROR, logger="lookout.supervise")
    try:
        await due_schedule(pool)
        async with (
            loops,
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client,
        ):
            loops.spawn(
                "backup-schedules",
                functools.partial(schedules.run_schedules, pool, send, lambda: True, 0.05),
            )

            async def healthz(status: int):
                answer = await client.get("/healthz")
                return answer if answer.status_code == status else None

            failing = await eventually(lambda: healthz(503), timeout=10, interval=0.02)
            assert failing.json()["failing_loops"] == ["backup-schedules"]
            logged = [r for r in caplog.records if getattr(r, "loop", "") == "backup-schedules"]
            assert str(logged[0].exc_info[1]) == "injected scheduler bug"

            await eventually(lambda: asyncio.sleep(0, len(send.acked) == 2), timeout=30)
            assert [c.operation for c in send.acked] == ["backup", "prune"]
            await eventually(lambda: healthz(200), timeout=10, interval=0.05)
        after = restarts()
        assert after - before == 4
    finally:
        await broker.stop()
        await pool.close()
