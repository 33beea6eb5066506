"""Schemathesis against the real services (a dashboard-api in front of a real health
monitor and backup worker), with schemas taken from the apps in-process since the
services serve no /openapi.json by default (LOOKOUT_API_DOCS):

- as an admin, generated requests to every documented dashboard-api operation find no
  server error and no response that breaks the OpenAPI document (status codes, content
  types, bodies, headers);
- with a viewer or an ingest key, every admin operation of the health monitor and the
  backup worker answers 403.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from support.db import create_keys

from lookout_backup.app import create_app as backup_app
from lookout_common.apikeys import Role
from lookout_common.auth import Admin
from lookout_common.settings import BackupWorkerSettings, DashboardSettings, HealthMonitorSettings
from lookout_dashboard.app import create_app as dashboard_app
from lookout_health.app import create_app as health_app

pytestmark = pytest.mark.integration

TESTS = Path(__file__).parents[2]
ARTIFACTS = TESTS / "artifacts"
ADMIN_ONLY = typing.get_args(Admin)[1].dependency


def _run(command: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, **kw)


def _schema_file(app: FastAPI, path: Path, keep: set[tuple[str, str]] | None = None) -> Path:
    """The app's OpenAPI document in a file, optionally cut down to the `keep` operations."""
    schema = app.openapi()
    if keep is not None:
        schema["paths"] = {
            route: {m: op for m, op in item.items() if (m.upper(), route) in keep}
            for route, item in schema["paths"].items()
            if any((m.upper(), route) in keep for m in item)
        }
    path.write_text(json.dumps(schema))
    return path


def admin_operations(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route that needs an admin key."""

    def needs_admin(dependant) -> bool:
        return any(d.call is ADMIN_ONLY or needs_admin(d) for d in dependant.dependencies)

    def routes(found: list) -> list[APIRoute]:
        # Included routers stay whole (FastAPI includes them lazily): look inside.
        return [
            inner
            for route in found
            for inner in (
                [route]
                if isinstance(route, APIRoute)
                else routes(getattr(getattr(route, "original_router", None), "routes", []))
            )
        ]

    return {
        (method, route.path)
        for route in routes(app.routes)
        if needs_admin(route.dependant)
        for method in route.methods
    }


async def _schemathesis(schema: Path, url: str, key: str, name: str, *args: str) -> None:
    schemathesis = Path(sys.executable).with_name("schemathesis")
    command = [
        str(schemathesis),
        "run",
        str(schema),
        "--url",
        url,
        "--header",
        f"Authorization: Bearer {key}",
        *args,
        "--seed",
        "20261130",
        "--request-timeout",
        "60",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(ARTIFACTS / f"schemathesis-{name}-junit.xml"),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "support.schemathesis_hooks",
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    finished = await asyncio.to_thread(_run, command, env=env, cwd=TESTS)
    (ARTIFACTS / f"schemathesis-{name}.txt").write_text(finished.stdout + finished.stderr)
    assert finished.returncode == 0, finished.stdout[-8000:] + finished.stderr[-2000:]


async def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    stack, tmp_path: Path
) -> None:
    dashboard, admin, _, _ = stack
    app = dashboard_app(DashboardSettings())
    operations = [(m.upper(), p) for p, item in app.openapi()["paths"].items() for m in item]
    assert len(operations) >= 20, operations
    ARTIFACTS.mkdir(exist_ok=True)
    await _schemathesis(
        _schema_file(app, tmp_path / "dashboard.json"),
        dashboard.url,
        admin,
        "dashboard",
        "--checks",
        "all",
        # Our own 403 check is for the non-admin runs below.
        "--exclude-checks",
        # Cross-field rules (a range's from before its to, a weekly schedule's weekday,
        # a window's end after its start) cannot be said in JSON Schema: requests that
        # break them get a documented 422 naming the rule, which this check counts
        # as a "valid request rejected".
        "positive_data_acceptance,admin_operation_refused",
        # The SSE stream never ends by design; test_stream_and_analytics covers it.
        "--exclude-path",
        "/api/v1/stream",
        "--max-examples",
        "15",
        "--workers",
        "2",
    )


async def test_viewer_and_ingest_keys_get_403_from_every_admin_operation_of_the_workers(
    stack, settings, tmp_path: Path
) -> None:
    dashboard, _, viewer, worker = stack
    (ingest,) = await create_keys(settings.dsn(), (Role.INGEST, "the product's site"))
    monitor_url = dashboard.env["LOOKOUT_HEALTH_MONITOR_URL"]
    ARTIFACTS.mkdir(exist_ok=True)
    targets = {
        "health-monitor": (health_app(HealthMonitorSettings()), monitor_url),
        "backup-worker": (backup_app(BackupWorkerSettings()), worker.url),
    }
    for service, (app, url) in targets.items():
        operations = admin_operations(app)
        assert len(operations) >= 3, (service, operations)
        schema = _schema_file(app, tmp_path / f"{service}.json", operations)
        for role, key in (("viewer", viewer), ("ingest", ingest)):
            await _schemathesis(
                schema,
                url,
                key,
                f"{service}-{role}",
                "--checks",
                "admin_operation_refused,not_a_server_error",
                "--max-examples",
                "5",
                "--phases",
                "examples,coverage,fuzzing",
            )
