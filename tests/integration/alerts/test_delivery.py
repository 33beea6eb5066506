"""The alert consumer against real receivers: a webhook server, a Slack-compatible
endpoint and a real Prometheus Alertmanager process, with failures and restarts."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from support.alerts import Receiver, consumer_env, incident, publish
from support.wait import eventually

from lookout_common.contracts.backup_events import BackupResult, RunStatus
from lookout_common.contracts.topics import Topic
from lookout_devstack.embedded.process import free_port

pytestmark = pytest.mark.integration

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


@pytest.fixture
async def webhook() -> AsyncIterator[Receiver]:
    async with Receiver() as receiver:
        yield receiver


@pytest.fixture
async def slack() -> AsyncIterator[Receiver]:
    async with Receiver() as receiver:
        yield receiver


@pytest.fixture
def alertmanager() -> Iterator[str]:
    """A real Alertmanager (Debian's prometheus-alertmanager) on a loopback port."""
    assert Path(ALERTMANAGER).exists(), (
        "prometheus-alertmanager missing: run scripts/system-deps.sh"
    )
    directory = Path(tempfile.mkdtemp(prefix="lookout-alertmanager-"))
    (directory / "alertmanager.yml").write_text(
        "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [
            ALERTMANAGER,
            f"--config.file={directory / 'alertmanager.yml'}",
            f"--storage.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(directory / "alertmanager.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, (directory / "alertmanager.log").read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


async def alertmanager_alerts(url: str) -> list[dict]:
    async with httpx.AsyncClient(timeout=5) as client:
        return (await client.get(f"{url}/api/v2/alerts")).json()


async def test_alerts_reach_webhook_slack_and_a_real_alertmanager(
    settings, service_factory, webhook, slack, alertmanager
) -> None:
    receivers = [
        {"name": "ops-webhook", "kind": "webhook", "url": webhook.url, "secret": "s3cret"},
        {"name": "ops-slack", "kind": "slack", "url": slack.url},
        {"name": "alertmanager", "kind": "alertmanager", "url": alertmanager},
    ]
    service_factory("lookout_health.alerts", consumer_env(settings, receivers))
    await publish(
        settings,
        Topic.HEALTH_INCIDENTS,
        incident("opened"),
        incident("opened", incident_id=2, check="search", in_maintenance=True),
    )
    failed = BackupResult(
        run_id="r-9",
        operation="backup",
        status=RunStatus.FAILED,
        errors=["S3 down"],
        at=datetime.now(UTC),
    )
    ok = BackupResult(
        run_id="r-10", operation="backup", status=RunStatus.SUCCEEDED, at=datetime.now(UTC)
    )
    await publish(settings, Topic.BACKUP_RESULTS, failed, ok)

    async def firing_in_alertmanager():
        alerts = await alertmanager_alerts(alertmanager)
        names = {a["labels"]["alertname"]: a for a in alerts}
        return names if {"LookoutCheckUnhealthy", "LookoutBackupFailed"} <= set(names) else None

    active = await eventually(firing_in_alertmanager)
    check_alert = active["LookoutCheckUnhealthy"]
    assert check_alert["labels"]["check"] == "auth-service"
    assert check_alert["labels"]["severity"] == "critical"
    assert check_alert["annotations"]["description"] == "HTTP 500 from auth"
    assert check_alert["status"]["state"] == "active"
    assert active["LookoutBackupFailed"]["annotations"]["description"] == "S3 down"

    await eventually(lambda: asyncio.sleep(0, len(webhook.bodies) >= 2))
    assert sorted(b["name"] for b in webhook.bodies) == [
        "LookoutBackupFailed",
        "LookoutCheckUnhealthy",
    ]
    assert all(b["labels"].get("check") != "search" for b in webhook.bodies)  # maintenance
    await eventually(lambda: asyncio.sleep(0, len(slack.bodies) >= 2))
    assert any("FIRING" in b["text"] and "auth-service" in b["text"] for b in slack.bodies)

    await publish(settings, Topic.HEALTH_INCIDENTS, incident("resolved"))

    async def resolved_in_alertmanager():
        alerts = await alertmanager_alerts(alertmanager)
        checks = [a for a in alerts if a["labels"]["alertname"] == "LookoutCheckUnhealthy"]
        return not checks or all(
            datetime.fromisoformat(a["endsAt"].replace("Z", "+00:00")) <= datetime.now(UTC)
            for a in checks
        )

    await eventually(resolved_in_alertmanager)
    await eventually(lambda: asyncio.sleep(0, len(webhook.bodies) >= 3))
    assert webhook.bodies[-1]["status"] == "resolved"
    await asyncio.sleep(1.0)
    assert len(webhook.bodies) == 3  # each event once; the succeeded backup never


async def test_failing_receiver_is_retried_and_never_delays_the_others(
    settings, service_factory, webhook, slack
) -> None:
    slack.failures_left = 4
    receivers = [
        {"name": "ops-webhook", "kind": "webhook", "url": webhook.url},
        {"name": "flaky-slack", "kind": "slack", "url": slack.url},
    ]
    service_factory("lookout_health.alerts", consumer_env(settings, receivers))
    started = time.monotonic()
    await publish(settings, Topic.HEALTH_INCIDENTS, incident("opened"))
    await eventually(lambda: asyncio.sleep(0, webhook.bodies))
    assert time.monotonic() - started < 5
    assert slack.bodies == []
    await eventually(lambda: asyncio.sleep(0, slack.bodies), timeout=30)
    assert slack.failures_left == 0
    await asyncio.sleep(1.0)
    assert (len(webhook.bodies), len(slack.bodies)) == (1, 1)


async def test_killed_consumer_delivers_everything_after_restart_exactly_once(
    settings, service_factory, webhook
) -> None:
    webhook.failures_left = 10_000  # the receiver is down while the consumer dies
    receivers = [{"name": "ops-webhook", "kind": "webhook", "url": webhook.url}]
    env = consumer_env(settings, receivers)
    first = service_factory("lookout_health.alerts", env)
    await publish(
        settings, Topic.HEALTH_INCIDENTS, *[incident("opened", incident_id=i) for i in range(1, 6)]
    )
    await asyncio.sleep(3.0)  # recorded in the outbox, offsets committed, deliveries failing
    first.kill()
    webhook.failures_left = 0
    # Ready once it holds its partitions: only after the killed member's session expires
    # and the group rebalances, which took over 30 s on a loaded two-core machine.
    service_factory("lookout_health.alerts", env, wait_ready=False).wait_ready(120)
    await eventually(lambda: asyncio.sleep(0, len(webhook.bodies) >= 5), timeout=30)
    await asyncio.sleep(1.5)
    assert sorted(int(b["labels"]["incident"]) for b in webhook.bodies) == [1, 2, 3, 4, 5]
