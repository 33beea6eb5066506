"""The admin clients against real services: dashboard-api in front of a real health
monitor and backup worker, on the suite's Postgres and Kafka (one stack for the module).
`@lookout/admin` runs its live Node tests (clients/js/admin/test/live: every README
example, the typed errors, the debug switches, the hooks in real React); the Python admin
client (`lookout_client.admin`) does the same operations, sync and async."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from lookout_client.admin import (
    AsyncLookoutAdmin,
    LiveEvent,
    LookoutAdmin,
    LookoutAuthenticationError,
    LookoutConflictError,
    LookoutNotFoundError,
    LookoutPermissionError,
    LookoutValidationError,
    Run,
)
from support.backups import COMMAND_KEY
from support.db import create_keys, fresh_database
from support.resolve import Resolved
from support.services import ServiceProcess, settings_env

from lookout_common.infra.apikeys import Role
from lookout_common.infra.kafka import ensure_topics
from lookout_common.infra.settings import LookoutSettings
from lookout_devstack.marketplace import create_marketplace

pytestmark = pytest.mark.integration

ADMIN_PACKAGE = Path(__file__).resolve().parents[3] / "clients" / "js" / "admin"
PYTHON_README = Path(__file__).resolve().parents[3] / "clients" / "python" / "README.md"


@dataclass
class AdminStack:
    dashboard: ServiceProcess
    admin_key: str
    viewer_key: str


@pytest.fixture(scope="module")
async def stack(
    postgres: Resolved, kafka: Resolved, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AdminStack]:
    """Starts real health-monitor (one postgres check), backup-worker (collections users
    and places of a seeded marketplace) and dashboard-api processes for this module."""
    settings = LookoutSettings(
        kafka_bootstrap=kafka.url,
        database_url=await fresh_database(postgres.url),
        topic_prefix=f"c{uuid.uuid4().hex[:8]}.",
        topic_partitions=1,
    )
    await ensure_topics(settings)
    connection = await asyncpg.connect(settings.dsn())
    try:
        await create_marketplace(connection, users=20)
    finally:
        await connection.close()
    admin_key, viewer_key = await create_keys(
        settings.dsn(), (Role.ADMIN, "clients admin"), (Role.VIEWER, "clients viewer")
    )
    logs = tmp_path_factory.mktemp("admin-clients")
    checks = logs / "checks.yaml"
    checks.write_text(
        f'checks:\n  - {{name: lookout-db, kind: postgres, dsn: "{settings.dsn()}",'
        " interval_s: 3600}\n"
    )
    common = settings_env(settings, LOOKOUT_BACKUP_COMMAND_KEY=COMMAND_KEY)
    started: list[ServiceProcess] = []

    def start(module: str, env: dict[str, str]) -> ServiceProcess:
        service = ServiceProcess(module, env, logs)
        started.append(service)
        return service.start()

    try:
        monitor = start("lookout_health", {**common, "LOOKOUT_HEALTH_CONFIG": str(checks)})
        worker = start(
            "lookout_backup",
            {
                **common,
                "LOOKOUT_BACKUP_DIR": str(logs / "backups"),
                "LOOKOUT_BACKUP_KEY": base64.b64encode(os.urandom(32)).decode(),
                "LOOKOUT_BACKUP_COLLECTIONS": json.dumps(["users", "places"]),
            },
        )
        dashboard = start(
            "lookout_dashboard",
            {
                **common,
                "LOOKOUT_HEALTH_MONITOR_URL": monitor.url,
                "LOOKOUT_BACKUP_WORKER_URL": worker.url,
            },
        )
        yield AdminStack(dashboard, admin_key, viewer_key)
    finally:
        for service in reversed(started):
            service.stop()


def test_js_admin_library_live_tests_pass(stack: AdminStack) -> None:
    """`node --test test/live/` in clients/js/admin; the devDependencies come from
    `npm ci` in clients/js (tests/clients/test_js_clients.py runs it first)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed: run scripts/system-deps.sh, as `make test` does")
    if not (ADMIN_PACKAGE.parent / "node_modules" / "react").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=ADMIN_PACKAGE.parent,
            check=True,
            capture_output=True,
            timeout=300,
        )
    done = subprocess.run(
        [node, "--test", "--test-concurrency=1", "test/live/"],
        cwd=ADMIN_PACKAGE,
        env={
            **os.environ,
            "LOOKOUT_ADMIN_URL": stack.dashboard.url,
            "LOOKOUT_ADMIN_KEY": stack.admin_key,
            "LOOKOUT_VIEWER_KEY": stack.viewer_key,
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, (
        f"node --test test/live/ exited {done.returncode}\n{done.stdout[-6000:]}\n"
        f"{done.stderr[-3000:]}\n--- dashboard-api ---\n{stack.dashboard.log_tail()}"
    )


# The Python admin client (`lookout_client.admin`), sync and async, on the same stack.

FINISHED = {"succeeded", "partial", "failed"}


def finished_run(admin: LookoutAdmin, found: Callable[[Run], bool], timeout: float = 90.0) -> Run:
    """The first run `found` accepts once it has finished, read through `backups.list()`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in admin.backups.list():
            if found(run) and run.status in FINISHED:
                return run
        time.sleep(0.3)
    pytest.fail(f"no finished run matched within {timeout:g} s: {admin.backups.list()}")


async def finished_run_async(
    admin: AsyncLookoutAdmin, found: Callable[[Run], bool], timeout: float = 90.0
) -> Run:
    """`finished_run` for the asyncio client."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in await admin.backups.list():
            if found(run) and run.status in FINISHED:
                return run
        await asyncio.sleep(0.3)
    pytest.fail(f"no finished run matched within {timeout:g} s: {await admin.backups.list()}")


def test_python_admin_runs_the_checks_and_reads_the_system_status(stack: AdminStack) -> None:
    with LookoutAdmin(stack.dashboard.url, stack.admin_key) as admin:
        results = admin.health.perform_health_check()
        status = admin.health.get_system_status()
        checks = admin.health.get_checks()
        incidents = admin.health.get_incidents()
        located = admin.health.get_locations()
        named = admin.health.get_locations(["lookout-db"])
    (result,) = (item for item in results if item.service == "lookout-db")
    assert (result.status, result.kind) == ("healthy", "postgres")
    assert result.response_time >= 0
    assert set(status.model_dump(by_alias=True)) >= {
        "status",
        "uptime",
        "lastCheck",
        "criticalIssues",
        "activeIncidents",
    }
    assert (status.status, status.critical_issues, status.active_incidents) == (
        "operational",
        [],
        0,
    )
    assert status.last_check is not None
    assert status.last_check >= result.timestamp
    (check,) = (item for item in checks if item.name == "lookout-db")
    assert check.latest is not None
    assert check.latest.status == "healthy"
    assert [incident for incident in incidents if incident.check == "lookout-db"] == []
    assert list(located) == [item.name for item in checks]
    (seen,) = located["lookout-db"]
    assert (seen.location, seen.failing, seen.since) == ("default", None, None)
    assert seen.latest.service == "lookout-db"
    assert named == {"lookout-db": located["lookout-db"]}


def test_python_admin_creates_lists_and_deletes_schedules(stack: AdminStack) -> None:
    name = f"py-weekly-{uuid.uuid4().hex[:8]}"
    with LookoutAdmin(stack.dashboard.url, stack.admin_key) as admin:
        schedule_id = admin.backups.schedule_backup(
            name=name, schedule="weekly", timezone="Asia/Jakarta", retention=30, format="json"
        )
        incremental_id = admin.backups.schedule_backup(
            name=f"{name}-incremental", incremental=True, full_weekday=6, collections=["users"]
        )
        listed = {schedule.id: schedule for schedule in admin.backups.list_schedules()}
        with pytest.raises(LookoutConflictError) as conflict:
            admin.backups.schedule_backup(name=name)
        with pytest.raises(LookoutValidationError) as invalid:
            admin.backups.schedule_backup(schedule={"frequency": "daily", "hour": 25})
        admin.backups.delete_schedule(schedule_id)
        admin.backups.delete_schedule(incremental_id)
        left = {schedule.id for schedule in admin.backups.list_schedules()}
        with pytest.raises(LookoutNotFoundError):
            admin.backups.delete_schedule(schedule_id)

    weekly = listed[schedule_id]
    assert (weekly.name, weekly.frequency, weekly.weekday, weekly.hour) == (name, "weekly", 6, 3)
    assert (weekly.timezone, weekly.collections) == ("Asia/Jakarta", [])
    assert (weekly.retention.retention_days, weekly.backup_type) == (30, "full")
    assert weekly.next_run_at is not None
    nightly = listed[incremental_id]
    assert (nightly.frequency, nightly.backup_type, nightly.full_weekday) == (
        "daily",
        "incremental",
        6,
    )
    assert nightly.collections == ["users"]
    assert conflict.value.status == 409
    assert name in conflict.value.reasons[0].reason
    assert (invalid.value.status, invalid.value.reasons[0].field) == (422, "hour")
    assert not left & {schedule_id, incremental_id}


def test_python_admin_backup_appears_in_the_runs_with_its_artifacts(stack: AdminStack) -> None:
    with LookoutAdmin(stack.dashboard.url, stack.admin_key) as admin:
        before = {run.run_id for run in admin.backups.list()}
        accepted = admin.backups.perform_backup()
        run = finished_run(
            admin, lambda run: run.operation == "backup" and run.run_id not in before
        )
        detail = admin.backups.get_run(run.run_id)
        with pytest.raises(LookoutNotFoundError) as missing:
            admin.backups.get_run("no-such-run")
    assert accepted.operation == "backup"
    assert accepted.command_id != ""
    assert (run.status, run.backup_type, run.requested_by) == ("succeeded", "full", "clients admin")
    assert run.collections == []  # asked for none by name: every collection
    assert sorted(artifact.collection for artifact in detail.artifacts) == ["places", "users"]
    assert all(artifact.encrypted for artifact in detail.artifacts)
    assert missing.value.status == 404


def test_python_admin_viewer_reads_but_is_refused_actions(stack: AdminStack) -> None:
    with LookoutAdmin(stack.dashboard.url, stack.viewer_key) as viewer:
        assert viewer.health.get_system_status().status == "operational"
        with pytest.raises(LookoutPermissionError) as refused:
            viewer.backups.perform_backup()
        with pytest.raises(LookoutPermissionError):
            viewer.health.perform_health_check()
    assert refused.value.status == 403
    assert refused.value.reasons
    assert refused.value.reasons[0].reason != ""
    with (
        LookoutAdmin(stack.dashboard.url, "lk_not_a_key") as stranger,
        pytest.raises(LookoutAuthenticationError) as unknown,
    ):
        stranger.health.get_incidents()
    assert unknown.value.status == 401


async def test_python_async_admin_does_the_same_operations(stack: AdminStack) -> None:
    name = f"py-async-{uuid.uuid4().hex[:8]}"
    async with AsyncLookoutAdmin(stack.dashboard.url, stack.admin_key) as admin:
        (result,) = await admin.health.perform_health_check("lookout-db")
        status = await admin.health.get_system_status()
        assert isinstance(await admin.health.get_incidents(), list)
        assert "lookout-db" in {check.name for check in await admin.health.get_checks()}

        schedule_id = await admin.backups.schedule_backup(name=name, schedule="monthly")
        (created,) = [s for s in await admin.backups.list_schedules() if s.id == schedule_id]
        await admin.backups.delete_schedule(schedule_id)
        left = {schedule.id for schedule in await admin.backups.list_schedules()}

        before = {run.run_id for run in await admin.backups.list()}
        await admin.backups.perform_backup(["users"])
        backup = await finished_run_async(
            admin, lambda run: run.operation == "backup" and run.run_id not in before
        )
        restored = await admin.backups.restore_from_backup(
            backup.run_id, ["users"], target_schema=f"py_restored_{uuid.uuid4().hex[:6]}"
        )
        restore = await finished_run_async(
            admin, lambda run: run.operation == "restore" and run.target_run_id == backup.run_id
        )

    async with AsyncLookoutAdmin(stack.dashboard.url, stack.viewer_key) as viewer:
        with pytest.raises(LookoutPermissionError) as refused:
            await viewer.backups.restore_from_backup(backup.run_id)

    assert (result.service, result.status) == ("lookout-db", "healthy")
    assert status.status == "operational"
    assert status.last_check is not None
    assert (created.name, created.frequency, created.day_of_month, created.hour) == (
        name,
        "monthly",
        1,
        3,
    )
    assert schedule_id not in left
    assert (backup.status, backup.collections) == ("succeeded", ["users"])
    assert restored.operation == "restore"
    assert restore.status == "succeeded"
    assert refused.value.status == 403


def test_python_admin_subscribe_hears_the_check_a_run_produces(stack: AdminStack) -> None:
    seen: list[LiveEvent] = []
    deadline = time.monotonic() + 60
    with LookoutAdmin(stack.dashboard.url, stack.admin_key) as admin:
        events = admin.subscribe()
        for event in events:
            seen.append(event)
            if event.type == "hello" and len(seen) == 1:
                # Asked once the stream is open, so that the check's event is not missed.
                admin.health.perform_health_check("lookout-db")
            if event.type == "check" or time.monotonic() > deadline:
                break
        events.close()
    assert seen[0].type == "hello"
    check = seen[-1]
    assert check.type == "check", [event.type for event in seen]
    assert isinstance(check.data, dict)
    assert (check.data["service"], check.data["status"]) == ("lookout-db", "healthy")


async def test_python_async_admin_subscribe_hears_the_backup_it_asked_for(
    stack: AdminStack,
) -> None:
    progress: list[dict[str, object]] = []
    async with AsyncLookoutAdmin(stack.dashboard.url, stack.admin_key) as admin:
        events = admin.subscribe()
        accepted = None
        async with asyncio.timeout(90):
            async for event in events:
                if event.type == "hello" and accepted is None:
                    accepted = await admin.backups.perform_backup(["places"])
                if event.type != "backup" or accepted is None:
                    continue
                assert isinstance(event.data, dict)
                if event.data.get("command_id") == accepted.command_id:
                    progress.append(event.data)
                    if event.data["status"] in FINISHED:
                        break
        await events.aclose()
    assert [item["status"] for item in progress][-1] == "succeeded"
    assert progress[-1]["collections_total"] == 1


def readme_admin_examples() -> list[str]:
    """The Python code blocks of clients/python/README.md's section "Admin client"."""
    text = PYTHON_README.read_text()
    section = text[text.index("\n## Admin client") :]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def test_python_admin_readme_examples_run(
    stack: AdminStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each example, with the stack's URL and admin key, in a thread of its own (the async
    one calls asyncio.run, which must not touch the test's event loop)."""
    examples = readme_admin_examples()
    assert len(examples) == 4
    with LookoutAdmin(stack.dashboard.url, stack.admin_key) as admin:
        # The async example restores the latest full backup: make sure there is one.
        earlier = {run.run_id for run in admin.backups.list()}
        admin.backups.perform_backup()
        finished_run(admin, lambda run: run.run_id not in earlier and run.operation == "backup")
        schedules_before = {schedule.id for schedule in admin.backups.list_schedules()}
        runs_before = {run.run_id for run in admin.backups.list()}
    for example in examples:
        code = example.replace("http://localhost:8000", stack.dashboard.url).replace(
            "ADMIN_KEY", stack.admin_key
        )
        with ThreadPoolExecutor(1) as thread:
            # The README's own code, run as its reader would run it.
            thread.submit(exec, compile(code, "README.md", "exec"), {}).result(timeout=120)
    printed = capsys.readouterr().out

    assert "lookout-db healthy" in printed
    assert "operational" in printed
    assert "422 [Reason(field='hour', reason=" in printed
    assert "backup succeeded 2/2" in printed
    with LookoutAdmin(stack.dashboard.url, stack.admin_key) as admin:
        assert {schedule.id for schedule in admin.backups.list_schedules()} == schedules_before
        full = finished_run(
            admin,
            lambda run: (
                run.run_id not in runs_before
                and (run.operation, run.backup_type) == ("backup", "full")
            ),
        )
        incremental = finished_run(
            admin,
            lambda run: (
                run.run_id not in runs_before
                and (run.operation, run.backup_type) == ("backup", "incremental")
            ),
        )
        restore = finished_run(
            admin, lambda run: run.run_id not in runs_before and run.operation == "restore"
        )
    assert (full.status, incremental.status, restore.status) == ("succeeded",) * 3
    assert incremental.collections == ["users"]
