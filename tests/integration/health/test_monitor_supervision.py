"""The health-monitor process keeps its background loops alive: a bad config value is a
refused config, a loop that fails is logged, counted and restarted, /healthz answers 503
while one keeps failing and 200 once it runs cleanly again, and an incident opened
while Kafka is unreachable survives a restart through the Postgres outbox."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from datetime import timedelta

import asyncpg
import httpx
import pytest
from support.kafka import read_topic
from support.resolve import scratch_dir
from support.services import settings_env

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.kafka import ensure_topics
from lookout_common.infra.settings import LookoutSettings
from lookout_devstack.embedded.kafka import EmbeddedKafka

pytestmark = pytest.mark.integration

# Fast restarts: three failures in a row make a loop failing; one clean second heals it.
FAST_SUPERVISION = {
    "LOOKOUT_LOOP_BACKOFF_S": "0.05",
    "LOOKOUT_LOOP_BACKOFF_MAX_S": "0.2",
    "LOOKOUT_LOOP_UNHEALTHY_FAILURES": "3",
    "LOOKOUT_LOOP_STABLE_S": "1",
}


def http_check(name: str, url: str) -> str:
    return f"""
  - name: {name}
    kind: http
    url: {url}
    interval_s: 0.2
    timeout_s: 2
    failures_before_incident: 2
"""


def restarts(metrics: str, loop: str) -> float:
    prefix = f'lookout_loop_restarts_total{{loop="{loop}"}} '
    found = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return float(found[0].removeprefix(prefix)) if found else 0.0


def log_entries(service, message: str) -> list[dict]:
    entries = []
    for line in service.log_path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("msg") == message:
                entries.append(entry)
    return entries


async def test_a_config_value_yaml_cannot_build_is_refused_and_the_monitor_keeps_working(
    monitor, http_server
) -> None:
    monitor.config_path.write_text("checks:" + http_check("auth-service", http_server.url))
    monitor.start()
    # YAML reads this host as a date, and month 13 makes Python raise ValueError.
    monitor.config_path.write_text(
        "checks:"
        + http_check("auth-service", http_server.url)
        + "  - {name: dns, kind: dns, host: 2024-13-01}\n"
    )

    async def refused():
        state = (await monitor.get("/api/v1/health/config")).json()
        return state if state["error"] else None

    state = await monitor.wait_for(refused)
    assert state["error"]["line"] == 8
    assert state["error"]["reason"].startswith("'2024-13-01' is not a valid value")
    assert state["checks"] == ["auth-service"]
    assert (await monitor.get("/healthz")).status_code == 200

    # The watcher is still watching: the next valid change applies.
    monitor.config_path.write_text(
        "checks:" + http_check("auth-service", http_server.url) + http_check("api", http_server.url)
    )

    async def reloaded():
        state = (await monitor.get("/api/v1/health/config")).json()
        return state if state["checks"] == ["auth-service", "api"] else None

    await monitor.wait_for(reloaded)
    await monitor.wait_for(
        lambda: monitor.rows("SELECT 1 FROM system_health_logs WHERE check_name = 'api'")
    )


async def test_failing_check_and_outbox_loops_are_restarted_fail_healthz_and_recover(
    monitor, http_server
) -> None:
    monitor.env.update(FAST_SUPERVISION)
    monitor.config_path.write_text("checks:" + http_check("auth-service", http_server.url))
    monitor.start()
    assert (await monitor.get("/healthz")).json() == {
        "status": "ok",
        "service": "health-monitor",
        "failing_loops": [],
    }

    # Injected failures: the tables of the results writer and of the outbox relay
    # disappear, so every run of either loop raises (the check keeps running; its results
    # wait in the writer's queue).
    away = (await monitor.rows("SELECT now() AS at"))[0]["at"]
    await monitor.rows("ALTER TABLE system_health_logs RENAME TO system_health_logs_away")
    await monitor.rows("ALTER TABLE incident_outbox RENAME TO incident_outbox_away")

    loops = ["health-incident-outbox", "health-results"]

    async def failing():
        answer = await monitor.get("/healthz")
        return answer if answer.json()["failing_loops"] == loops else None

    answer = await monitor.wait_for(failing)
    assert answer.status_code == 503
    metrics = (await monitor.get("/metrics")).text
    logged = log_entries(monitor.service, "background loop failed; restarting")
    for loop, table in zip(loops, ["incident_outbox", "system_health_logs"], strict=True):
        assert restarts(metrics, loop) >= 3
        assert f'lookout_loop_failing{{loop="{loop}"}} 1.0' in metrics
        failures = [entry for entry in logged if entry["loop"] == loop]
        assert len(failures) >= 3
        assert f'relation "{table}" does not exist' in failures[0]["exc"]
        assert "Traceback (most recent call last)" in failures[0]["exc"]

    await monitor.rows("ALTER TABLE system_health_logs_away RENAME TO system_health_logs")
    await monitor.rows("ALTER TABLE incident_outbox_away RENAME TO incident_outbox")

    async def healthy():
        answer = await monitor.get("/healthz")
        return answer if answer.status_code == 200 else None

    await monitor.wait_for(healthy)
    # The results of the runs while the table was away were kept and are written now.
    back = (await monitor.rows("SELECT now() AS at"))[0]["at"]
    kept = await monitor.rows(
        "SELECT 1 FROM system_health_logs WHERE checked_at > $1 AND checked_at < $2",
        away,
        back - timedelta(seconds=1),
    )
    assert len(kept) >= 3
    # Both work again: an incident opens, and its transition leaves the outbox, which the
    # relay empties only once Kafka acknowledged it (the topic itself is read below, in
    # the restart test).
    http_server.healthy = False
    await monitor.wait_for(
        lambda: monitor.rows("SELECT id FROM incidents WHERE resolved_at IS NULL")
    )

    async def published():
        rows = await monitor.rows("SELECT count(*) AS n FROM incident_outbox")
        return rows[0]["n"] == 0

    await monitor.wait_for(published)
    assert (await monitor.get("/healthz")).status_code == 200


@pytest.fixture
def own_broker() -> Iterator[EmbeddedKafka]:
    """An embedded Tansu of this test alone, frozen with SIGSTOP (connections hang)."""
    broker = EmbeddedKafka(scratch_dir("lookout-test-outbox-tansu-"))
    broker.start()
    yield broker
    os.kill(broker.process.pid, signal.SIGCONT)
    broker.stop()


async def test_an_incident_opened_while_kafka_is_unreachable_survives_a_restart(
    monitor, http_server, own_broker: EmbeddedKafka
) -> None:
    settings = LookoutSettings(
        kafka_bootstrap=own_broker.bootstrap,
        database_url=monitor.settings.dsn(),
        topic_prefix="outbox.",
    )
    await ensure_topics(settings, [Topic.HEALTH_CHECKS, Topic.HEALTH_INCIDENTS])
    monitor.env.update(
        settings_env(
            settings,
            LOOKOUT_HEALTH_CONFIG=str(monitor.config_path),
            LOOKOUT_HEALTH_CONFIG_POLL_S="0.2",
        )
    )
    monitor.config_path.write_text("checks:" + http_check("auth-service", http_server.url))
    monitor.start()

    os.kill(own_broker.process.pid, signal.SIGSTOP)
    http_server.healthy = False
    opened = await monitor.wait_for(
        lambda: monitor.rows("SELECT id FROM incidents WHERE resolved_at IS NULL")
    )
    outbox = await monitor.rows("SELECT incident_id, event FROM incident_outbox")
    assert [(row["incident_id"], json.loads(row["event"])["action"]) for row in outbox] == [
        (opened[0]["id"], "opened")
    ]

    monitor.service.kill()  # SIGKILL while Kafka hangs: nothing in memory survives
    monitor.service.start(wait_ready=False)
    await asyncio.sleep(1.0)
    os.kill(own_broker.process.pid, signal.SIGCONT)
    await asyncio.to_thread(monitor.service.wait_ready, 90)

    events = await read_topic(
        own_broker.bootstrap,
        topic_name(Topic.HEALTH_INCIDENTS, settings.topic_prefix),
        expect=1,
        timeout=60,
    )
    # The check still fails after the restart, so updates may follow; the opening is first.
    assert (events[0]["incident_id"], events[0]["check"], events[0]["action"]) == (
        opened[0]["id"],
        "auth-service",
        "opened",
    )
    assert [e["action"] for e in events].count("opened") == 1

    async def outbox_empty():
        connection = await asyncpg.connect(settings.dsn())
        try:
            return await connection.fetchval("SELECT count(*) = 0 FROM incident_outbox")
        finally:
            await connection.close()

    await monitor.wait_for(outbox_empty)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.get(f"{monitor.service.url}/healthz")).status_code == 200
    monitor.service.stop()  # while its broker still answers, so it stops at once
