"""The dashboard in front of a real health monitor and backup worker."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import asyncpg
import pytest
from support.backups import COMMAND_KEY
from support.db import create_keys
from support.services import settings_env

from lookout_common.infra.apikeys import Role
from lookout_devstack.marketplace import create_marketplace


@pytest.fixture
async def stack(settings, service_factory, tmp_path: Path):
    connection = await asyncpg.connect(settings.dsn())
    try:
        await create_marketplace(connection, users=50)
    finally:
        await connection.close()
    admin, viewer = await create_keys(
        settings.dsn(), (Role.ADMIN, "sre on call"), (Role.VIEWER, "support")
    )
    checks = tmp_path / "checks.yaml"
    checks.write_text(
        f'checks:\n  - {{name: lookout-db, kind: postgres, dsn: "{settings.dsn()}",'
        " interval_s: 3600}\n"
    )
    # Dashboard-api signs backup commands with the key the worker checks them with.
    common = settings_env(settings, LOOKOUT_BACKUP_COMMAND_KEY=COMMAND_KEY)
    monitor = service_factory("lookout_health", {**common, "LOOKOUT_HEALTH_CONFIG": str(checks)})
    worker = service_factory(
        "lookout_backup",
        {
            **common,
            "LOOKOUT_BACKUP_DIR": str(tmp_path / "backups"),
            "LOOKOUT_BACKUP_KEY": base64.b64encode(os.urandom(32)).decode(),
            "LOOKOUT_BACKUP_COLLECTIONS": json.dumps(["users", "places"]),
        },
    )
    dashboard = service_factory(
        "lookout_dashboard",
        {
            **common,
            "LOOKOUT_HEALTH_MONITOR_URL": monitor.url,
            "LOOKOUT_BACKUP_WORKER_URL": worker.url,
        },
    )
    return dashboard, admin, viewer, worker
