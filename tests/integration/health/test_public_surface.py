"""What the health monitor shows without a key, and what its check messages never show.

A real monitor process probes a real HTTP server through a URL with a password, a query
string and a `${VAR}`; its messages in the API, on `health.checks.v1` and in incidents
carry none of them. `/api/health` without a key gives the status and the component
names, reused for LOOKOUT_HEALTH_STATUS_CACHE_S; the details need a key."""

from __future__ import annotations

import time
from importlib.metadata import version

import httpx
import pytest
from support.db import create_keys
from support.kafka import read_topic

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.apikeys import Role

pytestmark = pytest.mark.integration

CACHE_S = 6.0
SECRETS = ("pw-5e1b", "sig-77d0", "route-c0ffee", "monitor-user")


async def test_health_surface_without_a_key_and_redacted_messages(
    monitor, http_server, monkeypatch
) -> None:
    port = http_server.url.rsplit(":", 1)[1]
    monitor.env |= {
        "LOOKOUT_HEALTH_STATUS_CACHE_S": str(CACHE_S),
        "STATUS_ROUTE": "route-c0ffee",
    }
    monitor.config_path.write_text(
        "checks:\n"
        "  - name: payments\n"
        "    kind: http\n"
        f"    url: 'http://monitor-user:pw-5e1b@127.0.0.1:{port}/${{STATUS_ROUTE}}?sig=sig-77d0'\n"
        "    interval_s: 0.3\n"
        "    timeout_s: 2\n"
    )
    monitor.start()
    (ingest,) = await create_keys(monitor.settings.dsn(), (Role.INGEST, "site"))
    url = f"{monitor.service.url}/api/health"

    async with httpx.AsyncClient(timeout=10) as http:

        async def keyless() -> httpx.Response:
            return await http.get(url)

        async def with_key(key: str) -> httpx.Response:
            return await http.get(url, headers={"Authorization": f"Bearer {key}"})

        async def passing() -> httpx.Response | None:
            answer = await with_key(monitor.viewer_key)
            return answer if answer.json()["checks"] else None

        await monitor.wait_for(passing)
        cached_at = time.monotonic()
        public = await keyless()
        assert public.status_code == 200
        assert public.headers["content-type"] == "application/health+json"
        assert public.json() == {
            "status": "pass",
            "version": version("lookout-health-monitor").split(".")[0],
            "releaseId": version("lookout-health-monitor"),
            "serviceId": "lookout",
            "checks": {"payments": [{"componentId": "payments"}]},
        }
        assert (await with_key(ingest)).status_code == 403
        assert (await with_key("lk_viewer_not-a-key")).status_code == 401

        http_server.healthy = False

        async def outage() -> httpx.Response | None:
            answer = await with_key(monitor.viewer_key)
            return answer if answer.status_code == 503 else None

        detailed = (await monitor.wait_for(outage)).json()
        # The viewer sees the check's status and message, fresh; the public answer is
        # the cached one until it expires.
        assert detailed["checks"]["payments:responseTime"][0]["status"] == "fail"
        assert (
            "HTTP 500 from http://***@127.0.0.1"
            in detailed["checks"]["payments:responseTime"][0]["output"]
        )
        still_cached = await keyless()
        assert time.monotonic() - cached_at < CACHE_S, "too slow to observe the cache"
        assert (still_cached.status_code, still_cached.json()["status"]) == (200, "pass")

        async def public_outage() -> httpx.Response | None:
            answer = await keyless()
            return answer if answer.status_code == 503 else None

        expired = await monitor.wait_for(public_outage, timeout=CACHE_S + 10)
        assert expired.json()["checks"] == {"payments": [{"componentId": "payments"}]}
        assert "output" not in expired.text
        assert "127.0.0.1" not in expired.text

    # Every place a message reaches: the API, incidents, the topic.
    latest = (await monitor.get("/api/v1/health/checks")).json()[0]["latest"]["message"]
    incidents = (await monitor.get("/api/v1/health/incidents")).json()
    published = await read_topic(
        monitor.settings.kafka_bootstrap,
        topic_name(Topic.HEALTH_CHECKS, monitor.settings.topic_prefix),
        expect=3,
    )
    messages = [latest, *(i["message"] for i in incidents), *(r["message"] for r in published)]
    assert any("HTTP 500 from http://***@127.0.0.1" in m for m in messages), messages
    assert any(m.endswith("/***?…, expected 200") for m in messages), messages
    for secret in SECRETS:
        assert not [m for m in messages if secret in m], secret
