"""A restore never undoes security state: Lookout's own tables stay out of product
backups and restores unless named with the flag, so revoked keys stay revoked; the
audit log is append-only and never replaced; erased people stay erased; restores can
run as a role that is not a superuser; backups without a key need the explicit setting
and say they are unauthenticated."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import asyncpg
import pytest
from support.backups import command

from lookout_backup.export import BackupPlan, run_backup
from lookout_backup.restore import RestoreRefused, restore
from lookout_backup.runner import Runner, new_run_id
from lookout_backup.targets import LocalTarget
from lookout_common.contracts.backup_api import Run
from lookout_common.contracts.backup_events import RunStatus
from lookout_common.infra import erasure_ledger
from lookout_common.infra.apikeys import Role, create_key, revoke_key
from lookout_common.infra.db import create_pool
from lookout_common.infra.settings import BackupWorkerSettings
from lookout_dashboard.routes.erasure import erase
from lookout_devstack.marketplace import TABLES

pytestmark = pytest.mark.integration

INTERNAL = {"api_keys", "audit_log", "schema_migrations", "event_ids", "erasure_ledger"}


async def test_revoked_keys_stay_revoked_after_restoring_everything(
    marketplace, local_target, keyring
) -> None:
    connection = await asyncpg.connect(marketplace)
    try:
        await create_key(connection, Role.ADMIN, "former admin")
        key_id = await connection.fetchval("SELECT max(id) FROM api_keys")
        everything = await run_backup(
            marketplace, local_target, BackupPlan(new_run_id("backup")), keyring
        )
        backed_up = {c.collection for c in everything.collections}
        assert set(TABLES) <= backed_up
        assert not backed_up & (INTERNAL | {"backup_logs", "backup_metadata"})
        assert await revoke_key(connection, key_id)
        await restore(local_target, everything.run_id, marketplace, keyring=keyring)
        assert await connection.fetchval(
            "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1", key_id
        )
        # Named, it is refused without the flag (and backed up only with it).
        flagged = await run_backup(
            marketplace,
            local_target,
            BackupPlan(new_run_id("backup"), ["api_keys", "users"], include_internal=True),
            keyring,
        )
        assert flagged.outcome("api_keys").ok
        unflagged = await run_backup(
            marketplace, local_target, BackupPlan(new_run_id("backup"), ["api_keys"]), keyring
        )
        assert "--include-internal" in unflagged.outcome("api_keys").error
        with pytest.raises(RestoreRefused, match="--include-internal"):
            await restore(
                local_target,
                flagged.run_id,
                marketplace,
                keyring=keyring,
                collections=["api_keys"],
            )
        assert await connection.fetchval(
            "SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = $1", key_id
        )
    finally:
        await connection.close()


async def test_audit_log_is_append_only_and_a_restore_never_replaces_it(
    marketplace, local_target, keyring
) -> None:
    connection = await asyncpg.connect(marketplace)
    try:
        await connection.execute(
            "INSERT INTO audit_log (actor, action, outcome) VALUES ('sre', 'before', 'ok')"
        )
        snapshot = await run_backup(
            marketplace,
            local_target,
            BackupPlan(new_run_id("backup"), ["audit_log"], include_internal=True),
            keyring,
        )
        # The restore's own trail, written after the backup, must survive it.
        await connection.execute(
            "INSERT INTO audit_log (actor, action, outcome)"
            " VALUES ('sre', 'backup.restore', 'sent')"
        )
        for statement in (
            "UPDATE audit_log SET outcome = 'forged'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await connection.execute(statement)
        with pytest.raises(RestoreRefused, match="append-only"):
            await restore(
                local_target,
                snapshot.run_id,
                marketplace,
                keyring=keyring,
                collections=["audit_log"],
                include_internal=True,
            )
        report = await restore(
            local_target,
            snapshot.run_id,
            marketplace,
            keyring=keyring,
            collections=["audit_log"],
            include_internal=True,
            mode="merge",
        )
        assert report.restored == {"audit_log": 0}  # nothing was missing
        ledger = await run_backup(
            marketplace,
            local_target,
            BackupPlan(new_run_id("backup"), ["erasure_ledger"], include_internal=True),
            keyring,
        )
        with pytest.raises(RestoreRefused, match="append-only"):
            await restore(
                local_target,
                ledger.run_id,
                marketplace,
                keyring=keyring,
                collections=["erasure_ledger"],
                include_internal=True,
            )
        actions = await connection.fetch("SELECT action, outcome FROM audit_log ORDER BY id")
    finally:
        await connection.close()
    assert [(r["action"], r["outcome"]) for r in actions] == [
        ("before", "ok"),
        ("backup.restore", "sent"),
    ]


PEOPLE = ("alice", "anon-a1", "bob")


async def _personal_rows(connection: asyncpg.Connection) -> dict[str, list[str]]:
    return {
        "analytics_people": sorted(
            r["actor"] for r in await connection.fetch("SELECT actor FROM analytics_people")
        ),
        "identity_links": sorted(
            r["anonymous_id"]
            for r in await connection.fetch("SELECT anonymous_id FROM identity_links")
        ),
        "user_traits": sorted(
            r["user_id"] for r in await connection.fetch("SELECT user_id FROM user_traits")
        ),
    }


async def test_erased_people_stay_erased_after_a_restore(
    marketplace, worker_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in worker_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LOOKOUT_BACKUP_COLLECTIONS", "[]")
    settings = BackupWorkerSettings()
    pool = await create_pool(settings)
    connection = await asyncpg.connect(marketplace)
    try:
        for actor in PEOPLE:
            await connection.execute(
                "INSERT INTO analytics_people VALUES ($1, now(), now(), 's', now(), NULL)", actor
            )
        await connection.execute(
            "INSERT INTO identity_links"
            " VALUES ('anon-a1', 'alice', now()), ('anon-b1', 'bob', now())"
        )
        await connection.execute(
            "INSERT INTO user_traits VALUES ('alice', '{}', now()), ('bob', '{}', now())"
        )
        runner = Runner(settings, pool, LocalTarget(settings.backup_dir))
        backup = await runner.execute(command())
        assert backup.status is RunStatus.SUCCEEDED, backup.errors
        erased = await erase(connection, "alice", "sre")
        assert erased.identities == ["alice", "anon-a1"]
        assert await erasure_ledger.hashes(connection) != []
        restored = await runner.execute(command("restore", run_id=backup.run_id))
        assert restored.status is RunStatus.SUCCEEDED, restored.errors
        rows = await _personal_rows(connection)
    finally:
        await connection.close()
        await pool.close()
    assert rows == {
        "analytics_people": ["bob"],
        "identity_links": ["anon-b1"],
        "user_traits": ["bob"],
    }


async def test_restores_run_as_the_configured_role(marketplace, local_target, keyring) -> None:
    role = f"lookout_restorer_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(marketplace)
    try:
        database = await connection.fetchval("SELECT current_database()")
        await connection.execute(f'CREATE ROLE "{role}" NOLOGIN NOSUPERUSER')
        await connection.execute(f'GRANT CREATE ON DATABASE "{database}" TO "{role}"')
        manifest = await run_backup(
            marketplace, local_target, BackupPlan(new_run_id("backup"), ["places"]), keyring
        )
        await restore(
            local_target,
            manifest.run_id,
            marketplace,
            keyring=keyring,
            schema="by_role",
            role=role,
        )
        owner = await connection.fetchval(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'by_role' AND tablename = 'places'"
        )
        superuser = await connection.fetchval(
            "SELECT rolsuper FROM pg_roles WHERE rolname = $1", role
        )
    finally:
        await connection.close()
    assert owner == role
    assert superuser is False


def lookout(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lookout_devstack.cli", "backup", *arguments],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_backups_without_a_key_need_the_setting_and_are_marked_unauthenticated(
    worker_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyless = {**worker_env, "LOOKOUT_BACKUP_KEY": "", "LOOKOUT_BACKUP_COLLECTIONS": '["places"]'}
    for name, value in keyless.items():
        monkeypatch.setenv(name, value)
    pool = await create_pool(BackupWorkerSettings())
    try:
        refused = await Runner(
            BackupWorkerSettings(), pool, LocalTarget(BackupWorkerSettings().backup_dir)
        ).execute(command())
        assert refused.status is RunStatus.FAILED
        assert "LOOKOUT_BACKUP_ALLOW_UNAUTHENTICATED" in refused.errors[0]

        allowed = {**keyless, "LOOKOUT_BACKUP_ALLOW_UNAUTHENTICATED": "true"}
        made = await asyncio.to_thread(lookout, allowed, "run")
        assert made.returncode == 0, made.stderr
        assert "UNAUTHENTICATED" in made.stdout
        run_id = made.stdout.split(":")[0]
        listed = await asyncio.to_thread(lookout, allowed, "list")
        [line] = [line for line in listed.stdout.splitlines() if line.startswith(run_id)]
        assert line.endswith("UNAUTHENTICATED")
        row = await pool.fetchrow("SELECT * FROM backup_logs WHERE run_id = $1", run_id)
        assert Run.model_validate(dict(row)).authenticated is False

        # A worker that has a key (and no permission) refuses to trust it.
        monkeypatch.setenv("LOOKOUT_BACKUP_KEY", worker_env["LOOKOUT_BACKUP_KEY"])
        strict = BackupWorkerSettings()
        result = await Runner(strict, pool, LocalTarget(strict.backup_dir)).execute(
            command("verify", run_id=run_id)
        )
    finally:
        await pool.close()
    assert result.status is RunStatus.FAILED
    assert "not authenticated" in result.errors[0]
