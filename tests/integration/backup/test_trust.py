"""Restore trusts nothing read back from the target: a manifest that does not
authenticate, claims `encrypted: false`, carries SQL in a column type or a path in its
run id is refused before any table or file is touched; names with quotes round trip;
a schedule's trial restore of a tampered backup fails instead of running its SQL."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from support.backups import table_dump

from lookout_backup.crypto import Keyring
from lookout_backup.export import BackupPlan, run_backup
from lookout_backup.manifest import canonical
from lookout_backup.restore import RestoreRefused, restore, run, verify
from lookout_backup.runner import Runner, new_run_id
from lookout_backup.schedules import add_schedule, enqueue_due
from lookout_backup.targets import LocalTarget
from lookout_common.contracts.backup_api import ScheduleIn
from lookout_common.contracts.backup_events import RunStatus
from lookout_common.infra.db import create_pool
from lookout_common.infra.settings import BackupWorkerSettings

pytestmark = pytest.mark.integration

CANARY = "lookout_pwned"  # a table only injected SQL would create


def edit_manifest(target: LocalTarget, run_id: str, change, *, reseal: Keyring | None = None):
    """Change a stored manifest as someone with write access to the target would
    (`reseal`: as someone who also holds the key, to test the checks behind the MAC)."""
    path = target.root / run_id / "manifest.json"
    document = json.loads(path.read_bytes())
    change(document)
    if reseal is not None:
        document["key_id"], document["mac"] = reseal.sign(canonical(document))
    path.write_text(json.dumps(document))


async def exists(database_url: str, relation: str) -> bool:
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval("SELECT to_regclass($1) IS NOT NULL", relation)
    finally:
        await connection.close()


@pytest.fixture
def canary() -> Iterator[Path]:
    """Where an injected program would leave its mark: a directory the Postgres
    server's OS user may write to (the test's own tmp_path is private to this user)."""
    directory = Path(tempfile.mkdtemp(prefix="lookout-canary-"))
    directory.chmod(0o777)
    yield directory / "program-ran"
    shutil.rmtree(directory)


def injector(canary: Path):
    """A manifest change that, pasted into DDL and run as the restoring superuser, would
    run a program (`COPY … TO PROGRAM`, outside any transaction) and create a table."""

    def inject(document: dict) -> None:
        ddl = document["collections"][0]["ddl"]
        ddl["columns"][0]["type"] = (
            f"text); COMMIT; CREATE TABLE {CANARY} (x int);"
            f" COPY (SELECT 1) TO PROGRAM 'touch {canary}'; COMMIT; --"
        )

    return inject


@pytest.mark.parametrize("resealed", [False, True], ids=["tampered", "tampered-and-resealed"])
async def test_sql_in_a_column_type_is_refused_and_never_runs(
    marketplace, local_target, keyring, resealed, canary: Path
) -> None:
    manifest = await run_backup(
        marketplace, local_target, BackupPlan(new_run_id("backup"), ["places"]), keyring
    )
    reseal = keyring if resealed else None
    edit_manifest(local_target, manifest.run_id, injector(canary), reseal=reseal)
    match = "column type" if resealed else "does not authenticate"
    with pytest.raises(RestoreRefused, match=match):
        await restore(local_target, manifest.run_id, marketplace, keyring=keyring, schema="copy")
    assert not await exists(marketplace, CANARY)
    assert not await exists(marketplace, "copy.places")
    assert "program-ran" not in os.listdir(canary.parent)


async def test_statements_go_through_the_extended_protocol(marketplace) -> None:
    connection = await asyncpg.connect(marketplace)
    try:
        with pytest.raises(asyncpg.PostgresSyntaxError, match="multiple commands"):
            await run(connection, f"SELECT 1; CREATE TABLE {CANARY} (x int)")
        assert await run(connection, "SELECT $1::int", 7) == "SELECT 1"
    finally:
        await connection.close()
    assert not await exists(marketplace, CANARY)


WEIRD_TABLE = 'orders"; DROP TABLE places; --'
WEIRD_COLUMN = 'id"; DROP TABLE users; --'


@pytest.mark.parametrize("fmt", ["csv", "json"])
async def test_table_and_column_names_with_quotes_are_exported_and_restored(
    marketplace, local_target, keyring, fmt
) -> None:
    connection = await asyncpg.connect(marketplace)
    try:
        await connection.execute(
            f'CREATE TABLE "{WEIRD_TABLE.replace(chr(34), chr(34) * 2)}"'
            f' ("{WEIRD_COLUMN.replace(chr(34), chr(34) * 2)}" int PRIMARY KEY,'
            ' "note""" text, updated_at timestamptz)'
        )
        await connection.execute(
            f'INSERT INTO "{WEIRD_TABLE.replace(chr(34), chr(34) * 2)}"'
            " SELECT g, 'note ' || g, now() FROM generate_series(1, 25) AS g"
        )
    finally:
        await connection.close()
    before = await table_dump(marketplace, WEIRD_TABLE)
    full = await run_backup(
        marketplace, local_target, BackupPlan(new_run_id("backup"), format=fmt), keyring
    )
    outcome = full.outcome(WEIRD_TABLE)
    assert outcome is not None
    assert outcome.ok, outcome.error
    assert [c.name for c in outcome.ddl.columns] == [WEIRD_COLUMN, 'note"', "updated_at"]
    assert full.artifact(WEIRD_TABLE, fmt).key.startswith(f"{full.run_id}/t-")
    incremental = await run_backup(
        marketplace,
        local_target,
        BackupPlan(new_run_id("backup"), [WEIRD_TABLE], format=fmt, base=full),
        keyring,
    )
    for run_id, schema in ((full.run_id, "copy"), (incremental.run_id, "chain")):
        await restore(
            local_target,
            run_id,
            marketplace,
            keyring=keyring,
            collections=[WEIRD_TABLE],
            schema=schema,
        )
        assert await table_dump(marketplace, WEIRD_TABLE, schema) == before
    assert await exists(marketplace, "public.places")
    assert await exists(marketplace, "public.users")


async def _plaintext_run(marketplace: str, target: LocalTarget) -> str:
    """What an attacker without the key can make: an unencrypted, unauthenticated backup
    of rows they chose (here: every place renamed)."""
    connection = await asyncpg.connect(marketplace)
    try:
        async with connection.transaction():
            await connection.execute("UPDATE places SET name = 'attacker'")
            run_id = new_run_id("backup")
            attacker = Keyring(None, allow_unauthenticated=True)
            await run_backup(marketplace, target, BackupPlan(run_id, ["places"]), attacker)
            raise asyncpg.exceptions.RaiseError("roll the attacker's rows back")
    except asyncpg.exceptions.RaiseError:
        pass
    finally:
        await connection.close()
    return run_id


async def test_a_manifest_rewritten_to_encrypted_false_is_refused(
    marketplace, local_target, keyring
) -> None:
    """Someone who can write the bucket swaps a run's manifest for one that says
    `encrypted: false` and points at their own plaintext artifacts, checksums and all."""
    victim = await run_backup(
        marketplace, local_target, BackupPlan(new_run_id("backup"), ["places"]), keyring
    )
    forged = await _plaintext_run(marketplace, local_target)
    document = json.loads((local_target.root / forged / "manifest.json").read_bytes())
    assert document["authentication"] == "none"
    for artifact in document["artifacts"]:
        name = artifact["key"].split("/", 1)[1]
        shutil.copy(local_target.root / artifact["key"], local_target.root / victim.run_id / name)
        artifact["key"] = f"{victim.run_id}/{name}"
    document["run_id"] = victim.run_id
    (local_target.root / victim.run_id / "manifest.json").write_text(json.dumps(document))

    before = await table_dump(marketplace, "places")
    with pytest.raises(RestoreRefused, match="not authenticated"):
        await restore(local_target, victim.run_id, marketplace, keyring=keyring)
    with pytest.raises(RestoreRefused, match="not authenticated"):
        await verify(local_target, victim.run_id, keyring)
    # Where unauthenticated backups are allowed, the run's record still says it was made
    # with a key: the manifest may not claim less.
    permissive = Keyring(keyring.current, allow_unauthenticated=True)
    with pytest.raises(RestoreRefused, match="recorded as authenticated"):
        await restore(
            local_target,
            victim.run_id,
            marketplace,
            keyring=permissive,
            recorded={victim.run_id: True},
        )
    assert await table_dump(marketplace, "places") == before


async def test_a_run_id_with_a_path_never_places_scratch_files_outside(
    marketplace, local_target, keyring, tmp_path: Path
) -> None:
    manifest = await run_backup(
        marketplace, local_target, BackupPlan(new_run_id("backup"), ["users"]), keyring
    )
    escaped = tmp_path / "escaped"
    traversal = "../" * 20 + str(escaped).lstrip("/")

    def move(document: dict) -> None:
        document["run_id"] = traversal

    for reseal in (None, keyring):
        edit_manifest(local_target, manifest.run_id, move, reseal=reseal)
        with pytest.raises(RestoreRefused):
            await restore(
                local_target, manifest.run_id, marketplace, keyring=keyring, schema="copy"
            )
        assert [name for name in os.listdir(tmp_path) if name.startswith("escaped")] == []


async def test_a_scheduled_trial_restore_of_a_tampered_backup_fails_and_runs_nothing(
    marketplace, worker_env, monkeypatch: pytest.MonkeyPatch, canary: Path
) -> None:
    """No one acting: a schedule with trial restores backs up, then verifies the new run
    by restoring it; a manifest tampered in between fails the check, its SQL never runs."""
    for name, value in worker_env.items():
        monkeypatch.setenv(name, value)
    settings = BackupWorkerSettings()
    pool = await create_pool(settings)
    target = LocalTarget(settings.backup_dir)
    try:
        runner = Runner(settings, pool, target)
        await add_schedule(
            pool,
            ScheduleIn(
                name="nightly",
                frequency="daily",
                hour=3,
                collections=["places"],
                trial_restore=True,
            ),
        )
        await pool.execute("UPDATE backup_schedules SET next_run_at = now() - interval '1 s'")
        sent = []

        async def collect(command) -> None:
            sent.append(command)

        await enqueue_due(pool, collect, datetime.now(UTC) + timedelta(seconds=1))
        assert [c.operation for c in sent] == ["backup", "verify", "prune"]
        backup = await runner.execute(sent[0])
        assert backup.status is RunStatus.SUCCEEDED
        edit_manifest(target, backup.run_id, injector(canary))
        trial = await runner.execute(sent[1])
    finally:
        await pool.close()
    assert trial.status is RunStatus.FAILED
    assert "does not authenticate" in trial.errors[0]
    assert not await exists(marketplace, CANARY)
    assert "program-ran" not in os.listdir(canary.parent)
