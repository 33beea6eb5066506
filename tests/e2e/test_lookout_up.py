"""`lookout up` as a one-box production, against one real stack over one data dir
(started `lookout up --drain-timeout 1` on the durable S3 broker, restarted in place):

- it starts every service, writes stack.json (0600), keeps its keys across restarts,
  drives demo traffic with --demo and stops on SIGTERM leaving no process behind;
- every `lookout` command attaches to it from stack.json or --data-dir, and with no
  stack and no settings fails with a clear message;
- acknowledged events survive kill -9 of the broker and of Postgres (restarted by
  `lookout up`), of the whole process tree and of `lookout up` alone (the children
  then die within 5 s), counted exactly once after a restart that clears the killed
  run's locks and takes the same ports back;
- a stop whose drain gives up says so, and the next start aggregates what was left;
- its watchdog restarts a service whose /healthz stops answering (probing every
  WATCHDOG_INTERVAL_S, the stack's one non-default setting, to keep the test short).

The tests run in file order and share the stack (a start costs tens of seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from support.resolve import scratch_dir

pytestmark = pytest.mark.e2e

USER = "e2e-one-box-user"
# Long enough that the tests suspending the aggregator for a moment are not disturbed by
# the watchdog (3 probes in a row, about 9 s), short enough for the watchdog's own test.
WATCHDOG_INTERVAL_S = 3
BATCH = 40
SERVICES = {
    "dashboard-api",
    "ingest",
    "analytics-aggregator",
    "health-monitor",
    "backup-worker",
    "alert-consumer",
}


def _environment() -> dict[str, str]:
    """No LOOKOUT_* setting: the embedded defaults, as on a fresh server."""
    return {key: value for key, value in os.environ.items() if not key.startswith("LOOKOUT_")}


@dataclass
class OneBox:
    root: Path
    process: subprocess.Popen | None = None
    info: dict | None = None
    first_admin_key: str | None = None
    sent: int = 0  # bookings of USER acknowledged so far

    def send(self, count: int, retry_for: float = 0) -> None:
        """`count` bookings, acknowledged; on a refusal the same message ids are sent again
        (as clients do), so what a refused attempt may have published counts once."""
        ids = [uuid.uuid4().hex for _ in range(count)]
        deadline = time.monotonic() + retry_for
        while True:
            try:
                _send(self.info, ids)
                break
            except (AssertionError, httpx.HTTPError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        self.sent += count

    @property
    def data_dir(self) -> Path:
        return self.root / ".lookout"

    @property
    def log(self) -> Path:
        return self.root / "up.log"

    def start(self, *extra: str) -> dict:
        self.log.write_text("")
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "lookout_devstack.cli", "up"),
                *("--data-dir", str(self.data_dir), "--drain-timeout", "1", *extra),
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env={**_environment(), "LOOKOUT_WATCHDOG_INTERVAL_S": str(WATCHDOG_INTERVAL_S)},
            start_new_session=True,
        )
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            if "Lookout is up." in self.log.read_text():
                self.info = json.loads((self.data_dir / "stack.json").read_text())
                return self.info
            time.sleep(0.3)
        raise TimeoutError(self.log.read_text()[-3000:])

    def tree(self) -> list[psutil.Process]:
        parent = psutil.Process(self.process.pid)
        return [parent, *parent.children(recursive=True)]

    def child(self, name: str) -> psutil.Process:
        return psutil.Process(self.info["processes"][name]["pid"])

    def lookout(self, *argv: str, data_dir: bool = True):
        """A `lookout` command naming the stack with --data-dir from another directory,
        or (data_dir=False) run beside the data dir, where `.lookout` is the default."""
        prefix = ["--data-dir", str(self.data_dir)] if data_dir else []
        return subprocess.run(
            [sys.executable, "-m", "lookout_devstack.cli", *prefix, *argv],
            capture_output=True,
            text=True,
            env=_environment(),
            cwd="/" if data_dir else self.root,
            timeout=120,
        )


def _alive(processes: list[psutil.Process]) -> list[str]:
    left = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{process.pid} {' '.join(process.cmdline())[:100]}")
        except psutil.NoSuchProcess:
            continue
    return left


def _wait_gone(processes: list[psutil.Process], timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    while _alive(processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _alive(processes)


def _send(info: dict, ids: list[str]) -> None:
    """Bookings with these message ids, all acknowledged (200 from ingest)."""
    batch = [
        {
            "type": "track",
            "event": "booking_completed",
            "messageId": message_id,
            "userId": USER,
            "timestamp": datetime.now(UTC).isoformat(),
            "properties": {"therapistId": "t-1", "serviceType": "thai", "totalPrice": 70},
        }
        for message_id in ids
    ]
    response = httpx.post(
        f"{info['ingest_url']}/v1/batch",
        json={"batch": batch},
        auth=(info["write_key"], ""),
        timeout=30,
    )
    assert response.status_code == 200, response.text


async def _stored(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval(
            "SELECT count(*) FROM user_analytics WHERE user_id = $1", USER
        )
    finally:
        await connection.close()


def _settled_count(info: dict, expected: int, timeout: float = 60) -> int:
    """The stored count once it reached `expected` (or the timeout) and stayed for 2 s."""
    deadline = time.monotonic() + timeout
    seen = asyncio.run(_stored(info["database_url"]))
    while seen < expected and time.monotonic() < deadline:
        time.sleep(0.3)
        seen = asyncio.run(_stored(info["database_url"]))
    time.sleep(2)  # a duplicate would land now
    return asyncio.run(_stored(info["database_url"]))


@pytest.fixture(scope="module")
def one_box():
    box = OneBox(scratch_dir("lookout-one-box-"))
    box.start()
    box.first_admin_key = box.info["admin_key"]
    yield box
    if box.process is not None and box.process.poll() is None:
        _stop_cleanly(box)


def _stop_cleanly(box: OneBox) -> None:
    children = box.tree()
    box.process.send_signal(signal.SIGTERM)
    assert box.process.wait(120) == 0
    assert _wait_gone(children, 5) == []
    assert not (box.data_dir / "stack.json").exists()


def _bookings_today(info: dict) -> int:
    response = httpx.get(
        f"{info['dashboard_url']}/api/v1/dashboard/metrics",
        headers={"Authorization": f"Bearer {info['admin_key']}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["todayBookings"]


def test_commands_fail_clearly_without_a_stack_or_settings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lookout_devstack.cli", "keys", "list"],
        capture_output=True,
        text=True,
        env=_environment(),
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no running stack in" in result.stderr
    assert "LOOKOUT_DATABASE_URL" in result.stderr
    assert "5432" not in result.stderr  # never tried a default server


def test_lookout_up_starts_every_service_and_writes_a_private_stack_file(
    one_box: OneBox,
) -> None:
    info = one_box.info
    assert {"dashboard_url", "ingest_url", "write_key", "admin_key"} <= set(info)
    assert set(info["services"]) == SERVICES
    for name, url in info["services"].items():
        assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200, name
    assert oct((one_box.data_dir / "stack.json").stat().st_mode & 0o777) == "0o600"
    assert len(one_box.tree()) >= len(SERVICES) + 4  # lookout up, S3, broker, Postgres


def test_every_command_talks_to_the_running_stack(one_box: OneBox) -> None:
    info = one_box.info
    where = f"stack in {one_box.data_dir}"

    keys = one_box.lookout("keys", "list", data_dir=False)
    assert keys.returncode == 0, keys.stderr
    assert where in keys.stderr
    assert "lookout up (admin)" in keys.stdout

    assert one_box.lookout("migrate").stdout.strip() == "database is up to date"
    assert one_box.lookout("topics").stdout.strip() == "all topics exist"

    backup = one_box.lookout("backup", "run")
    assert backup.returncode == 0, backup.stderr
    assert where in backup.stderr
    assert "UNAUTHENTICATED" not in backup.stderr  # the stack's own backup key
    run_id = backup.stdout.split(":")[0].strip()
    listed = one_box.lookout("backup", "list")
    assert run_id in listed.stdout
    shown = json.loads(one_box.lookout("backup", "show", run_id).stdout)
    # The stack's embedded S3 and its sample product database, not Lookout's own.
    assert shown["target"].startswith("s3://lookout-backups")
    assert {artifact["collection"] for artifact in shown["artifacts"]} >= {"bookings", "users"}

    status = one_box.lookout("status")
    assert status.returncode == 0, status.stderr
    for name, port in info["ports"].items():
        if name in info["processes"]:
            assert re.search(rf"{name} +pid \d+ +\w+ +port {port}\n", status.stdout), name
    assert "consumer lag 0 events" in status.stdout
    assert f"last backup {run_id} succeeded" in status.stdout
    assert "open incidents" in status.stdout


def test_a_second_lookout_up_on_the_same_data_dir_is_refused(one_box: OneBox) -> None:
    second = subprocess.run(
        [sys.executable, "-m", "lookout_devstack.cli", "up", "--data-dir", str(one_box.data_dir)],
        capture_output=True,
        text=True,
        env=_environment(),
        timeout=60,
    )
    assert second.returncode == 1
    assert f"a stack is already running on {one_box.data_dir}" in second.stderr
    running = json.loads((one_box.data_dir / "stack.json").read_text())
    assert running["pid"] == one_box.process.pid  # the running stack's file is untouched


def test_broker_and_postgres_killed_come_back_and_lose_nothing(one_box: OneBox) -> None:
    for name in ("kafka", "postgres"):
        one_box.send(BATCH)
        killed = one_box.child(name)
        killed.kill()
        deadline = time.monotonic() + 60
        while True:  # lookout up restarts it, on the same port, and records the new process
            info = json.loads((one_box.data_dir / "stack.json").read_text())
            if info["processes"][name]["pid"] != killed.pid:
                break
            assert time.monotonic() < deadline, one_box.log.read_text()[-2000:]
            time.sleep(0.3)
        assert info["ports"] == one_box.info["ports"]
        one_box.info = info
        one_box.send(BATCH, retry_for=60)  # ingest answers again once reconnected
    assert _settled_count(one_box.info, one_box.sent) == one_box.sent


def test_a_service_whose_healthz_stops_answering_is_restarted_by_the_watchdog(
    one_box: OneBox,
) -> None:
    """A stopped (SIGSTOP) health-monitor answers nothing, which counts as failing just as
    a 503 does: after 3 such probes `lookout up` replaces it on the same port."""
    name = "health-monitor"
    url = one_box.info["services"][name]
    assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    hung = one_box.child(name)
    hung.suspend()
    deadline = time.monotonic() + 60
    while True:
        info = json.loads((one_box.data_dir / "stack.json").read_text())
        if info["processes"][name]["pid"] != hung.pid:
            break
        assert time.monotonic() < deadline, one_box.log.read_text()[-2000:]
        time.sleep(0.3)
    assert _wait_gone([hung], 5) == []  # the hung process was stopped, not left behind
    assert info["ports"] == one_box.info["ports"]
    one_box.info = info
    while True:  # healthy again, on the same port
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline + 30, one_box.log.read_text()[-2000:]
        time.sleep(0.3)
    why = f"/healthz did not answer within {WATCHDOG_INTERVAL_S} s"
    assert f"! {name} {why}" in one_box.log.read_text()
    status = one_box.lookout("status")
    assert status.returncode == 0, status.stderr
    assert f"restarted {name} 1x, last: {why}" in status.stdout


def test_acknowledged_events_survive_kill_9_of_the_whole_tree(one_box: OneBox) -> None:
    ports = one_box.info["ports"]
    one_box.send(BATCH)
    tree = one_box.tree()
    for process in tree:  # everything at once, as a power cut would, right after the acks
        with contextlib.suppress(psutil.NoSuchProcess):  # a Postgres worker may just end
            process.kill()
    assert _wait_gone(tree, 5) == []
    assert (one_box.data_dir / "postgres" / "postmaster.pid").exists()  # a stale lock

    info = one_box.start()
    assert "left by a killed run" not in one_box.log.read_text()  # nothing survived to clear
    assert info["ports"] == ports  # the same ports back
    assert _settled_count(info, one_box.sent) == one_box.sent


def test_kill_9_of_lookout_up_leaves_no_process_and_loses_no_event(one_box: OneBox) -> None:
    ports = one_box.info["ports"]
    one_box.child("analytics-aggregator").suspend()  # acknowledged, not yet aggregated
    one_box.send(BATCH)
    tree = one_box.tree()
    one_box.process.kill()
    assert _wait_gone(tree, 5) == []

    info = one_box.start()
    assert info["ports"] == ports
    assert _settled_count(info, one_box.sent) == one_box.sent


def test_a_stop_that_gives_up_draining_says_so_and_the_next_start_aggregates(
    one_box: OneBox,
) -> None:
    aggregator = one_box.child("analytics-aggregator")
    aggregator.suspend()
    one_box.send(BATCH)
    started = time.monotonic()
    one_box.process.send_signal(signal.SIGTERM)
    deadline = started + 30
    while "not drained after 1 s" not in one_box.log.read_text():
        assert time.monotonic() < deadline, one_box.log.read_text()[-2000:]
        time.sleep(0.2)
    aggregator.resume()  # lets it take its SIGTERM now rather than after the kill timeout
    assert one_box.process.wait(60) == 0
    assert "aggregated on the next start" in one_box.log.read_text()

    info = one_box.start("--demo")
    assert _settled_count(info, one_box.sent) == one_box.sent
    assert info["admin_key"] == one_box.first_admin_key  # still valid, so reused


def test_demo_traffic_moves_the_numbers_and_sigterm_leaves_no_process(one_box: OneBox) -> None:
    before = _bookings_today(one_box.info)
    deadline = time.monotonic() + 30
    while _bookings_today(one_box.info) <= before:
        assert time.monotonic() < deadline, "--demo sent no booking in 30 s"
        time.sleep(0.5)
    _stop_cleanly(one_box)
