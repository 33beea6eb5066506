"""The monitor with its Kafka hanging: checks keep their schedule, an incident that opens
meanwhile is in Postgres at once and on health.incidents.v1 once Kafka answers again.

The test owns its broker (an embedded Tansu it freezes with SIGSTOP, so connections hang
rather than fail fast, and thaws with SIGCONT), since the suite's shared broker must stay
up for every other test.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator

import asyncpg
import pytest
from support.kafka import read_topic
from support.resolve import scratch_dir
from support.wait import eventually

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.db import create_pool
from lookout_common.infra.kafka import ensure_topics, make_broker
from lookout_common.infra.settings import LookoutSettings
from lookout_devstack.embedded.kafka import EmbeddedKafka
from lookout_health.checks.custom import add_custom_check
from lookout_health.config import HealthConfig
from lookout_health.monitor import Monitor
from lookout_health.store import incidents as incident_store

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("empty_registry")]


@pytest.fixture
def own_broker() -> AsyncIterator[EmbeddedKafka]:
    broker = EmbeddedKafka(scratch_dir("lookout-test-health-tansu-"))
    broker.start()
    yield broker
    os.kill(broker.process.pid, signal.SIGCONT)
    broker.stop()


async def test_checks_keep_their_schedule_while_kafka_hangs_and_incidents_follow_later(
    database_url: str, own_broker: EmbeddedKafka
) -> None:
    settings = LookoutSettings(
        kafka_bootstrap=own_broker.bootstrap, database_url=database_url, topic_prefix="outage."
    )
    await ensure_topics(settings, [Topic.HEALTH_CHECKS, Topic.HEALTH_INCIDENTS])
    payments_up = True

    async def payments() -> str:
        if not payments_up:
            raise ConnectionError("payments provider refused")
        return "payments provider answered"

    async def heartbeat() -> str:
        return "beating"

    config = HealthConfig(
        checks=[
            add_custom_check("heartbeat", heartbeat, interval_s=0.2),
            add_custom_check("payments", payments, interval_s=0.2, failures_before_incident=2),
        ]
    )
    pool: asyncpg.Pool = await create_pool(settings)
    broker = make_broker(settings, client_id="health-outage-test")
    await broker.start()
    monitor = Monitor(pool, broker, settings.topic_prefix)
    try:
        monitor.apply(config)
        await asyncio.sleep(0.6)

        os.kill(own_broker.process.pid, signal.SIGSTOP)
        stopped_at = await pool.fetchval("SELECT now()")
        payments_up = False
        incident = await eventually(lambda: incident_store.open_incident_checks(pool))
        assert incident == {"payments"}
        await asyncio.sleep(2.0)
        beats = await pool.fetch(
            "SELECT checked_at FROM system_health_logs"
            " WHERE check_name = 'heartbeat' AND checked_at > $1 ORDER BY checked_at",
            stopped_at,
        )
        gaps = [
            (b["checked_at"] - a["checked_at"]).total_seconds()
            for a, b in itertools.pairwise(beats)
        ]
        # Every 0.2 s while publishing hangs: nothing waits for the broker.
        assert len(beats) >= 9, gaps
        assert max(gaps) < 0.45, gaps
        assert await monitor.feed.pending_incidents() == 1

        os.kill(own_broker.process.pid, signal.SIGCONT)
        events = await read_topic(
            own_broker.bootstrap,
            topic_name(Topic.HEALTH_INCIDENTS, settings.topic_prefix),
            expect=1,
            timeout=30,
        )
        assert [(e["check"], e["action"]) for e in events] == [("payments", "opened")]
        assert events[0]["message"] == "ConnectionError: payments provider refused"
        assert await monitor.feed.pending_incidents() == 0
    finally:
        await monitor.stop()
        await broker.stop()
        await pool.close()
