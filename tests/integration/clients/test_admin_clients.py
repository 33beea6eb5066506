"""The admin clients against real services: dashboard-api in front of a real health
monitor and backup worker, on the suite's Postgres and Kafka (one stack for the module).
`@lookout/admin` runs its live Node tests (clients/js/admin/test/live: every README
example, the typed errors, the debug switches, the hooks in real React)."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
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
