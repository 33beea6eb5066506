"""dashboard-api as a real process on the real broker and database: the live stream relays
the workers' Kafka messages and metric ticks, the analytics series bucket the rollups in
LOOKOUT_TIMEZONE, and the single-page app is served compressed and cacheable."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from support.db import create_keys
from support.services import settings_env

from lookout_common.contracts.backup_events import BackupResult, RunStatus
from lookout_common.contracts.health_events import CheckResult, CheckStatus, IncidentEvent
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.apikeys import Role
from lookout_common.infra.kafka import make_broker

pytestmark = pytest.mark.integration


@pytest.fixture
async def dashboard(settings, service_factory):
    admin, writer = await create_keys(
        settings.dsn(), (Role.ADMIN, "sre"), (Role.INGEST, "front end")
    )
    env = settings_env(settings, LOOKOUT_STREAM_TICK_S="1", LOOKOUT_TIMEZONE="Asia/Kolkata")
    return service_factory("lookout_dashboard", env), admin, writer


async def read_events(response: httpx.Response):
    """(kind, data) pairs from an SSE response."""
    kind, data = None, []
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and kind:
            yield kind, json.loads("\n".join(data))
            kind, data = None, []


async def test_the_stream_relays_checks_incidents_backups_and_metric_ticks(
    settings, dashboard
) -> None:
    service, admin, writer = dashboard
    now = datetime.now(UTC)
    check = CheckResult(
        service="payments-api",
        status=CheckStatus.UNHEALTHY,
        response_time_ms=812.5,
        message="HTTP 503",
        timestamp=now,
        kind="http",
    )
    incident = IncidentEvent(
        incident_id=7,
        check="payments-api",
        action="opened",
        status=CheckStatus.UNHEALTHY,
        critical=True,
        message="HTTP 503",
        opened_at=now,
        at=now,
    )
    progress = BackupResult(
        run_id="20261130T000001",
        operation="backup",
        status=RunStatus.RUNNING,
        collections_done=3,
        collections_total=15,
        rows=1200,
        at=now,
    )
    messages = [
        (Topic.HEALTH_CHECKS, check.model_dump_json(by_alias=True)),
        (Topic.HEALTH_INCIDENTS, incident.model_dump_json()),
        (Topic.BACKUP_RESULTS, progress.model_dump_json()),
    ]
    broker = make_broker(settings, client_id="stream-test")
    await broker.start()
    seen: dict[str, dict] = {}

    async def publish_until_seen() -> None:
        # The relay reads from the newest offset on: publish until it has caught each kind.
        while len(seen) < 4:
            for topic, body in messages:
                await broker.publish(body.encode(), topic_name(topic, settings.topic_prefix))
            await asyncio.sleep(0.5)

    async with httpx.AsyncClient(base_url=service.url, timeout=60) as http:
        assert (await http.get("/api/v1/stream")).status_code == 401
        refused = await http.get("/api/v1/stream", headers={"Authorization": f"Bearer {writer}"})
        assert refused.status_code == 403
        publisher = asyncio.create_task(publish_until_seen())
        try:
            headers = {"Authorization": f"Bearer {admin}"}
            async with http.stream("GET", "/api/v1/stream", headers=headers) as response:
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/event-stream")
                deadline = time.monotonic() + 45
                async for kind, data in read_events(response):
                    if kind in ("hello", "check", "incident", "backup", "metrics"):
                        seen.setdefault(kind, data)
                    if {"check", "incident", "backup", "metrics"} <= seen.keys():
                        break
                    assert time.monotonic() < deadline, f"only {sorted(seen)} arrived"
        finally:
            publisher.cancel()
            await asyncio.gather(publisher, return_exceptions=True)
            await broker.stop()
    assert seen["check"]["service"] == "payments-api"
    assert seen["check"]["responseTime"] == 812.5
    assert seen["incident"]["action"] == "opened"
    assert seen["backup"]["collections_done"] == 3
    assert set(seen["metrics"]) == {
        "activeUsers",
        "todayBookings",
        "chatSessions",
        "errorRate",
        "topPages",
    }


async def test_a_stream_with_a_limit_ends_after_that_many_messages(dashboard) -> None:
    service, admin, _ = dashboard
    headers = {"Authorization": f"Bearer {admin}"}
    kinds = []
    async with (
        httpx.AsyncClient(base_url=service.url, timeout=30) as http,
        http.stream("GET", "/api/v1/stream?limit=2", headers=headers) as response,
    ):
        async for kind, _ in read_events(response):
            kinds.append(kind)
    # hello, maybe the latest metrics, then exactly two relayed messages (metric ticks).
    assert kinds[0] == "hello"
    assert kinds[-2:] == ["metrics", "metrics"]
    assert len(kinds) in (3, 4)


async def _counts(settings, rows: list[tuple[datetime, str, int]]) -> None:
    connection = await asyncpg.connect(settings.dsn())
    try:
        await connection.executemany(
            "INSERT INTO rollup_event_counts (bucket, event, events) VALUES ($1, $2, $3)", rows
        )
        await connection.executemany(
            "INSERT INTO rollup_page_views (bucket, path, views) VALUES ($1, $2, $3)",
            [
                (datetime(2026, 3, 1, 18, 15, tzinfo=UTC), "/therapists", 5),
                (datetime(2026, 3, 1, 18, 30, tzinfo=UTC), "/therapists", 4),
                (datetime(2026, 3, 1, 18, 30, tzinfo=UTC), "/pricing", 7),
                (datetime(2026, 3, 1, 18, 30, tzinfo=UTC), "/help", 1),
            ],
        )
    finally:
        await connection.close()


async def test_series_bucket_in_the_local_zone_across_midnight(settings, dashboard) -> None:
    service, admin, _ = dashboard
    # Asia/Kolkata is UTC+05:30: 18:29 UTC is 23:59 on 1 March, 18:31 UTC is 00:01 on 2 March.
    before, after = (
        datetime(2026, 3, 1, 18, 29, tzinfo=UTC),
        datetime(2026, 3, 1, 18, 31, tzinfo=UTC),
    )
    await _counts(
        settings,
        [
            (before, "booking_attempt", 4),
            (before, "booking_completed", 1),
            (after, "booking_attempt", 6),
            (after, "booking_completed", 3),
            (after, "page_view", 20),
        ],
    )
    window = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "granularity": "day"}
    async with httpx.AsyncClient(
        base_url=service.url, headers={"Authorization": f"Bearer {admin}"}, timeout=30
    ) as http:
        bookings = (await http.get("/api/v1/analytics/bookings", params=window)).json()
        events = (
            await http.get("/api/v1/analytics/events", params={**window, "event": "page_view"})
        ).json()
        pages = (await http.get("/api/v1/analytics/pages", params={**window, "limit": 2})).json()
        inverted = await http.get(
            "/api/v1/analytics/events", params={**window, "from": window["to"]}
        )
        too_long = await http.get(
            "/api/v1/analytics/events",
            params={**window, "to": "2026-03-03T00:01:00Z", "granularity": "minute"},
        )
        bad_granularity = await http.get(
            "/api/v1/analytics/events", params={**window, "granularity": "fortnight"}
        )
    local = timedelta(hours=5, minutes=30)
    assert bookings["attempts"] == 10
    assert bookings["completions"] == 4
    assert bookings["conversionRate"] == 40.0
    assert [
        (datetime.fromisoformat(p["bucket"]) + local, p["attempts"], p["completions"])
        for p in bookings["series"]
    ] == [
        (datetime(2026, 3, 1, tzinfo=UTC), 4, 1),
        (datetime(2026, 3, 2, tzinfo=UTC), 6, 3),
    ]
    assert [(p["event"], p["events"]) for p in events["points"]] == [("page_view", 20)]
    assert events["range"]["timezone"] == "Asia/Kolkata"
    assert [(p["page"], p["views"]) for p in pages] == [("/therapists", 9), ("/pricing", 7)]
    assert inverted.status_code == 422
    assert inverted.json()["detail"] == "from must be before to"
    assert too_long.status_code == 422
    assert "at most 2 days" in too_long.json()["detail"]
    assert bad_granularity.status_code == 422
    assert bad_granularity.json()["detail"][0]["loc"] == ["query", "granularity"]


async def test_the_page_and_its_assets_are_served_compressed_and_cacheable(dashboard) -> None:
    service, _, _ = dashboard
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        page = await http.get("/")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert '<script src="/assets/plotly.min.js"' in page.text
        plotly = await http.get("/assets/plotly.min.js", headers={"Accept-Encoding": "gzip"})
        assert plotly.status_code == 200
        assert plotly.headers["content-encoding"] == "gzip"
        assert int(plotly.headers["content-length"]) < len(plotly.content) / 2
        assert plotly.text.lstrip().startswith("/**")  # httpx inflated the real bundle
        again = await http.get(
            "/assets/plotly.min.js", headers={"If-None-Match": plotly.headers["etag"]}
        )
        assert again.status_code == 304
        assert (await http.get("/assets/main.js")).status_code == 200
        assert (await http.get("/assets/secrets.py")).status_code == 404
        assert (await http.get("/assets/..%2Fapp.py")).status_code == 404
