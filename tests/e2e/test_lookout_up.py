"""`lookout up`: starts everything, answers, writes stack.json, stops leaving no
process behind, and a second start finds the first run's data."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from support.resolve import scratch_dir

pytestmark = pytest.mark.e2e

SERVICES = {
    "dashboard-api",
    "ingest",
    "analytics-aggregator",
    "health-monitor",
    "backup-worker",
    "alert-consumer",
}


def _start(data_dir: Path, *extra: str) -> subprocess.Popen:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LOOKOUT_")  # embedded defaults, as on a fresh machine
    }
    stack_file = data_dir / "stack.json"
    if stack_file.exists():
        stack_file.rename(data_dir / "stack.previous.json")
    return subprocess.Popen(
        [sys.executable, "-m", "lookout_common.cli", "up", "--data-dir", str(data_dir), *extra],
        stdout=open(data_dir.parent / "up.log", "ab"),
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )


def _wait_stack(data_dir: Path, process: subprocess.Popen, timeout: float = 150) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, (data_dir.parent / "up.log").read_text()[-3000:]
        try:
            return json.loads((data_dir / "stack.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            time.sleep(0.5)
    raise TimeoutError((data_dir.parent / "up.log").read_text()[-3000:])


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _stop(process: subprocess.Popen, timeout: float = 120) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout)


def _alive(processes: list[psutil.Process]) -> list[str]:
    left = []
    for child in processes:
        try:
            if child.is_running() and child.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{child.pid} {' '.join(child.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return left


E2E_USER = "e2e-lookout-up-user"


def _booking() -> dict:
    return {
        "type": "track",
        "event": "booking_completed",
        "messageId": uuid.uuid4().hex,
        "userId": E2E_USER,
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": {
            "therapistId": "therapist-1",
            "serviceType": "swedish",
            "totalPrice": 80,
            "currency": "EUR",
        },
    }


def _bookings(info: dict) -> int:
    response = httpx.get(
        f"{info['dashboard_url']}/api/v1/dashboard/metrics",
        headers={"Authorization": f"Bearer {info['admin_key']}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["todayBookings"]


def _wait_bookings(info: dict, at_least: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    seen = _bookings(info)
    while seen < at_least and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = _bookings(info)
    return seen


async def _stored_bookings(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM user_analytics"
            " WHERE user_id = $1 AND event = 'booking_completed'",
            E2E_USER,
        )
    finally:
        await connection.close()


def test_lookout_up_runs_the_stack_stops_cleanly_and_keeps_data() -> None:
    data_dir = scratch_dir("lookout-up-") / "data"
    data_dir.mkdir()

    first = _start(data_dir)
    try:
        info = _wait_stack(data_dir, first)
        assert {"dashboard_url", "ingest_url", "write_key", "admin_key"} <= set(info)
        assert set(info["services"]) == SERVICES
        for name, url in info["services"].items():
            assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200, name
        assert oct((data_dir / "stack.json").stat().st_mode & 0o777) == "0o600"

        accepted = httpx.post(
            f"{info['ingest_url']}/v1/batch",
            json={"batch": [_booking() for _ in range(5)]},
            auth=(info["write_key"], ""),
            timeout=10,
        )
        assert accepted.status_code == 200, accepted.text
        assert _wait_bookings(info, 5) == 5
        # Acknowledged but perhaps not yet aggregated when the stop begins: the drain keeps them.
        late = httpx.post(
            f"{info['ingest_url']}/v1/batch",
            json={"batch": [_booking() for _ in range(3)]},
            auth=(info["write_key"], ""),
            timeout=10,
        )
        assert late.status_code == 200, late.text
        children = _descendants(first.pid)
        assert len(children) >= len(SERVICES) + 2  # services, broker, Postgres
    finally:
        _stop(first)
    assert first.returncode == 0
    assert _alive(children) == []

    second = _start(data_dir, "--demo")
    try:
        info_again = _wait_stack(data_dir, second)
        assert info_again["admin_key"] == info["admin_key"]  # still valid, so reused
        # Every booking acknowledged in the first run survived the stop, exactly once.
        assert asyncio.run(_stored_bookings(info_again["database_url"])) == 8
        # --demo drives traffic: the dashboard's numbers move without us sending anything.
        assert _wait_bookings(info_again, 9, timeout=30) >= 9
        children = _descendants(second.pid)
    finally:
        _stop(second)
    assert second.returncode == 0
    assert _alive(children) == []
