"""Quorum across locations with three real health-monitor processes (locations a, b and
c, LOOKOUT_HEALTH_QUORUM=2) sharing one Postgres and one Kafka. Each location's config
points the same `checkout` check at its own URL of a loopback server, so the target can
fail for one location only. And two locations deciding at the same moment on one real
Postgres open one incident, not two or none."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from support.db import create_keys
from support.kafka import read_topic
from support.services import ServiceProcess, settings_env
from support.wait import eventually

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.apikeys import Role
from lookout_common.infra.settings import LookoutSettings
from lookout_health.checks.custom import add_custom_check
from lookout_health.config import HealthConfig, parse_config
from lookout_health.monitor import Monitor
from lookout_health.quorum import Quorum
from lookout_health.uptime import Seconds

pytestmark = pytest.mark.integration

LOCATIONS = ("a", "b", "c")
CONFIG = """checks:
  - name: checkout
    kind: http
    url: {url}
    json: [{{path: status, equals: ok}}]
    interval_s: 0.3
    timeout_s: 2
    failures_before_incident: 2
    successes_before_resolve: 2
"""


class LocationTarget:
    """A real HTTP server on loopback: `GET /<location>` answers `{"status": "ok"}`, or
    500 while that location is in `failing_for`."""

    def __init__(self, server: asyncio.Server) -> None:
        self.server = server
        self.failing_for: set[str] = set()

    def url(self, location: str) -> str:
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/{location}"


@pytest.fixture
async def target() -> AsyncIterator[LocationTarget]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            request = await reader.readuntil(b"\r\n\r\n")
            location = request.split(b" ", 2)[1].decode().strip("/")
            healthy = location not in found.failing_for
            body = b'{"status": "ok"}' if healthy else b'{"status": "down"}'
            status = b"200 OK" if healthy else b"500 Internal Server Error"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
                b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    found = LocationTarget(server)
    yield found
    server.close()
    await server.wait_closed()


@pytest.fixture
async def monitors(
    settings: LookoutSettings, target: LocationTarget, tmp_path: Path
) -> AsyncIterator[dict[str, ServiceProcess]]:
    """Three health-monitor processes (`python -m lookout_health`), one per location,
    each with its own config file and log."""
    started: dict[str, ServiceProcess] = {}
    try:
        for location in LOCATIONS:
            directory = tmp_path / location
            directory.mkdir()
            config = directory / "checks.yaml"
            config.write_text(CONFIG.format(url=target.url(location)))
            env = settings_env(
                settings,
                LOOKOUT_HEALTH_CONFIG=str(config),
                LOOKOUT_HEALTH_LOCATION=location,
                LOOKOUT_HEALTH_QUORUM="2",
                LOOKOUT_HEALTH_QUORUM_WINDOW_S="10",
                LOOKOUT_STATUS_CACHE_S="0",
            )
            started[location] = ServiceProcess("lookout_health", env, directory)
            started[location].start(wait_ready=False)
        # Waited for in threads: the target answers from this event loop meanwhile.
        await asyncio.gather(
            *(asyncio.to_thread(service.wait_ready, 90) for service in started.values())
        )
        yield started
    finally:
        for service in started.values():
            service.stop()


async def wait_for(predicate, timeout: float = 30.0) -> Any:
    """Poll `predicate` (async, returning a truthy value) until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met in {timeout}s; last value {value!r}")
        await asyncio.sleep(0.2)


async def test_an_incident_opens_only_when_two_of_three_locations_see_the_failure(
    settings: LookoutSettings,
    target: LocationTarget,
    monitors: dict[str, ServiceProcess],
) -> None:
    (viewer,) = await create_keys(settings.dsn(), (Role.VIEWER, "support"))
    api = httpx.AsyncClient(
        base_url=monitors["a"].url, headers={"Authorization": f"Bearer {viewer}"}, timeout=30
    )
    database = await asyncpg.connect(settings.dsn())

    async def locations() -> dict[str, dict]:
        answer = await api.get("/api/v1/health/checks/checkout/locations")
        assert answer.status_code == 200, answer.text
        return {item["location"]: item for item in answer.json()}

    async def seen(expected: dict[str, bool], status: str | None = None) -> dict | None:
        """Each location's answer once the verdicts (and, if given, every status) match."""
        found = await locations()
        verdicts = {name: item["failing"] for name, item in found.items()}
        statuses = {item["latest"]["status"] for item in found.values()}
        if verdicts != expected or (status is not None and statuses != {status}):
            return None
        return found

    async def incidents() -> list[asyncpg.Record]:
        return await database.fetch("SELECT * FROM incidents ORDER BY id")

    async def open_incident() -> asyncpg.Record | None:
        rows = [row for row in await incidents() if row["resolved_at"] is None]
        return rows[0] if rows else None

    try:
        # Every location runs the check (each its own lease) and reports it healthy.
        found = await wait_for(lambda: seen({"a": False, "b": False, "c": False}, "healthy"), 60)
        assert {item["latest"]["location"] for item in found.values()} == set(LOCATIONS)

        # Failing for location a only: a's verdict is failing, its results are degraded
        # (unconfirmed), and no incident opens however long it lasts.
        target.failing_for.add("a")
        await wait_for(lambda: seen({"a": True, "b": False, "c": False}))
        await asyncio.sleep(2.0)  # several more runs of every location
        assert await incidents() == []
        found = await locations()
        assert found["a"]["latest"]["status"] == "degraded"
        assert "expected 200" in found["a"]["latest"]["message"]
        assert found["b"]["latest"]["status"] == "healthy"
        status = (await api.get("/api/v1/health/status")).json()
        assert (status["status"], status["activeIncidents"]) == ("degraded", 0)
        page = (await api.get(f"{monitors['b'].url}/status.json")).json()
        (component,) = page["components"]
        assert component["locations"] == [
            {"location": "a", "state": "degraded"},
            {"location": "b", "state": "operational"},
            {"location": "c", "state": "operational"},
        ]
        html = (await api.get(f"{monitors['c'].url}/status")).text
        assert "a: degraded performance" in html
        assert "c: operational" in html

        # Failing for b as well: two of three, the incident opens (once).
        target.failing_for.add("b")
        opened = await wait_for(open_incident)
        assert (opened["check_name"], opened["status"]) == ("checkout", "unhealthy")
        await asyncio.sleep(1.0)
        assert len(await incidents()) == 1
        found = await locations()
        assert {name: item["latest"]["status"] for name, item in found.items()} == {
            "a": "unhealthy",
            "b": "unhealthy",
            "c": "healthy",
        }
        status = (await api.get("/api/v1/health/status")).json()
        assert (status["status"], status["activeIncidents"]) == ("outage", 1)

        # b recovers: fewer than two locations see it failing, so it resolves although
        # a still fails, and a alone does not open it again.
        target.failing_for.discard("b")
        await wait_for(lambda: seen({"a": True, "b": False, "c": False}))
        await wait_for(_all_resolved(incidents))
        await asyncio.sleep(1.5)
        rows = await incidents()
        assert len(rows) == 1
        assert rows[0]["resolved_at"] is not None
        assert rows[0]["state"] == "resolved"

        target.failing_for.discard("a")
        await wait_for(lambda: seen({"a": False, "b": False, "c": False}, "healthy"))
        assert len(await incidents()) == 1

        # One Kafka: the incident's transitions went out once, whichever location wrote them.
        events = await read_topic(
            settings.kafka_bootstrap,
            topic_name(Topic.HEALTH_INCIDENTS, settings.topic_prefix),
            expect=2,
        )
        actions = [event["action"] for event in events]
        assert actions[0] == "opened"
        assert actions[-1] == "resolved"
        assert actions.count("opened") == actions.count("resolved") == 1
        assert {event["incident_id"] for event in events} == {rows[0]["id"]}
    finally:
        await api.aclose()
        await database.close()


def _all_resolved(incidents):
    async def check() -> list[asyncpg.Record] | None:
        rows = await incidents()
        return rows if rows and all(row["resolved_at"] is not None for row in rows) else None

    return check


@pytest.mark.usefixtures("empty_registry")
async def test_locations_that_start_failing_at_the_same_moment_open_one_incident(
    pool: asyncpg.Pool,
) -> None:
    """Two in-process monitors (locations a and b, quorum 2) run the same failing check
    in the same phase (it comes from the check's name), so they decide together."""

    async def broken() -> str:
        raise ConnectionError("payments provider refused")

    check = add_custom_check("payments", broken, interval_s=0.1, failures_before_incident=1)
    alone = Monitor(pool, None, "", quorum=Quorum(location="a", quorum=2, window_s=5))
    alone.apply(HealthConfig(checks=[check]))
    try:
        await eventually(lambda: pool.fetchval("SELECT count(*) >= 5 FROM system_health_logs"))
        # One location alone: failing, reported degraded, no incident.
        assert await pool.fetchval("SELECT count(*) FROM incidents") == 0
        statuses = await pool.fetch("SELECT DISTINCT status, location FROM system_health_logs")
        assert [(row["status"], row["location"]) for row in statuses] == [("degraded", "a")]
    finally:
        await alone.stop()
    await pool.execute("DELETE FROM health_location_verdicts; DELETE FROM system_health_logs")

    monitors = [
        Monitor(pool, None, "", quorum=Quorum(location=location, quorum=2, window_s=5))
        for location in ("a", "b")
    ]
    try:
        for monitor in monitors:
            monitor.apply(HealthConfig(checks=[check]))
        await eventually(lambda: pool.fetchval("SELECT count(*) FROM incidents"))
        await asyncio.sleep(1.0)  # ten more runs of each
        rows = await pool.fetch("SELECT * FROM incidents")
        assert len(rows) == 1
        assert rows[0]["resolved_at"] is None
        verdicts = await pool.fetch(
            "SELECT location, failing FROM health_location_verdicts ORDER BY location"
        )
        assert [(row["location"], row["failing"]) for row in verdicts] == [
            ("a", True),
            ("b", True),
        ]
        unhealthy = await pool.fetch(
            "SELECT DISTINCT location FROM system_health_logs WHERE status = 'unhealthy'"
        )
        assert {row["location"] for row in unhealthy} == {"a", "b"}
    finally:
        for monitor in monitors:
            await monitor.stop()


async def test_uptime_rollups_follow_the_quorum_and_count_each_moment_once(
    pool: asyncpg.Pool, target: LocationTarget
) -> None:
    """Three in-process monitors (a, b, c, quorum 2) probe the target from their own
    URLs; the rollups behind the SLA report and the status page's bars count the check's
    time once (not once per location) and in the quorum's state."""
    monitors = [
        Monitor(pool, None, "", quorum=Quorum(location=location, quorum=2, window_s=5))
        for location in LOCATIONS
    ]

    async def counted() -> dict[str, Seconds]:
        rows = await pool.fetch(
            "SELECT scope, sum(up_s) AS up, sum(degraded_s) AS degraded, sum(down_s) AS down"
            " FROM health_uptime_rollups WHERE resolution = 'minute' GROUP BY scope"
        )
        return {row["scope"]: Seconds(row["up"], row["degraded"], row["down"]) for row in rows}

    async def counted_over(seconds: float) -> dict[str, Seconds]:
        before = await counted()
        await asyncio.sleep(seconds)
        after = await counted()
        return {
            scope: Seconds(
                now.up - before[scope].up,
                now.degraded - before[scope].degraded,
                now.down - before[scope].down,
            )
            for scope, now in after.items()
        }

    try:
        for monitor in monitors:
            url = target.url(monitor.quorum.location)
            monitor.apply(parse_config(CONFIG.format(url=url)))
        await eventually(lambda: pool.fetchval("SELECT count(*) = 3 FROM health_location_verdicts"))
        # b fails alone (its own network): no downtime, and 3 s are about 3 s, not 9.
        target.failing_for.add("b")
        await eventually(
            lambda: pool.fetchval(
                "SELECT failing FROM health_location_verdicts WHERE location = 'b'"
            )
        )
        await asyncio.sleep(1.5)  # b's last passing span is counted and written
        alone = await counted_over(3.0)
        for seconds in alone.values():
            assert seconds.down == 0
            assert seconds.uptime_pct == 100.0
            assert 1.5 < seconds.known < 4.5

        # b and c fail: the incident opens and the check is down, although a (the location
        # that counts the uptime, first by name) still passes.
        target.failing_for.add("c")
        await eventually(
            lambda: pool.fetchval("SELECT count(*) FROM incidents WHERE resolved_at IS NULL")
        )
        await asyncio.sleep(2.0)
        confirmed = await counted_over(3.0)
        for seconds in confirmed.values():
            assert seconds.up == seconds.degraded == 0
            assert 1.5 < seconds.down < 4.5
            assert seconds.uptime_pct == 0.0
    finally:
        for monitor in monitors:
            await monitor.stop()
