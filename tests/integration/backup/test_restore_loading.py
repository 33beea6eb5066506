"""Loading a verified backup: the scratch copy is checked again as it streams into COPY,
a new table is loaded frozen and all-visible, and a restore's commits are durable when
it returns."""

from __future__ import annotations

import json
import os
from pathlib import Path

import asyncpg
import pytest

from lookout_backup.crypto import Keyring
from lookout_backup.export import BackupPlan, run_backup
from lookout_backup.load import RestoreRefused, Step, VerifiedArtifact, load_collection
from lookout_backup.restore import data_key_of, make_commits_durable, restore, verify_artifact
from lookout_backup.runner import new_run_id

pytestmark = pytest.mark.integration


async def backup_of(marketplace, target, keyring, table: str):
    plan = BackupPlan(run_id=new_run_id("backup"), collections=[table])
    manifest = await run_backup(marketplace, target, plan, keyring)
    assert manifest.status == "succeeded"
    return manifest


async def load_in_transaction(connection: asyncpg.Connection, step: Step, schema: str) -> int:
    async with connection.transaction():
        # As restore does: foreign keys are not checked while loading.
        await connection.execute("SET LOCAL session_replication_role = replica")
        return await load_collection(connection, [step], schema, "replace")


@pytest.mark.parametrize(
    ("encrypted", "compression"),
    [(True, "zstd"), (False, "none")],  # caught by an AES-GCM frame; by the stored digest
)
async def test_a_scratch_copy_changed_after_verification_is_refused_and_nothing_changes(
    marketplace, local_target, tmp_path: Path, encrypted: bool, compression: str
) -> None:
    keyring = Keyring(os.urandom(32)) if encrypted else Keyring(None, allow_unauthenticated=True)
    plan = BackupPlan(run_id=new_run_id("backup"), collections=["places"], compression=compression)
    manifest = await run_backup(marketplace, local_target, plan, keyring)
    artifact = manifest.artifact("places")
    assert artifact is not None
    data_key = data_key_of(manifest, keyring)
    copy = tmp_path / "places.stored"
    await verify_artifact(local_target, artifact, data_key, copy)
    stored = bytearray(copy.read_bytes())
    stored[len(stored) // 2] ^= 0x01  # one bit, after verification
    copy.write_bytes(bytes(stored))
    outcome = manifest.outcome("places")
    assert outcome is not None
    step = Step(manifest, outcome, VerifiedArtifact(artifact, copy, data_key))

    connection = await asyncpg.connect(marketplace)
    try:
        before = await connection.fetch("SELECT * FROM places ORDER BY id")
        for schema in ("public", "lookout_fresh"):  # an existing table, and a new one
            with pytest.raises(RestoreRefused, match="changed after it was verified"):
                await load_in_transaction(connection, step, schema)
        assert await connection.fetch("SELECT * FROM places ORDER BY id") == before
        assert await connection.fetchval("SELECT to_regclass('lookout_fresh.places')") is None
    finally:
        await connection.close()


async def test_a_new_table_is_restored_all_visible(marketplace, local_target, keyring) -> None:
    manifest = await backup_of(marketplace, local_target, keyring, "users")
    await restore(local_target, manifest.run_id, marketplace, keyring=keyring, schema="fresh")
    connection = await asyncpg.connect(marketplace)
    try:
        # Loaded frozen (COPY FREEZE): an index-only scan never visits the heap, without
        # waiting for a vacuum.
        await connection.execute("SET enable_seqscan = off")
        await connection.execute("SET enable_bitmapscan = off")
        plan = await connection.fetchval(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM fresh.users WHERE id > 0"
        )
        node = json.loads(plan)[0]["Plan"]
        assert node["Node Type"] == "Index Only Scan"
        assert node["Actual Rows"] == manifest.outcome("users").rows > 0
        assert node["Heap Fetches"] == 0
    finally:
        await connection.close()


async def test_commits_made_without_waiting_are_flushed_before_durability_is_reported(
    marketplace,
) -> None:
    connection = await asyncpg.connect(marketplace)
    try:
        async with connection.transaction():
            await connection.execute("SET LOCAL synchronous_commit = off")
            await connection.execute("CREATE TABLE lookout_durable (n int)")
            await connection.execute("INSERT INTO lookout_durable VALUES (1)")
        committed = await connection.fetchval("SELECT pg_current_wal_insert_lsn()")
        await make_commits_durable(connection)
        flushed = await connection.fetchval("SELECT pg_current_wal_flush_lsn()")
        assert await connection.fetchval("SELECT $1::pg_lsn >= $2::pg_lsn", flushed, committed)
    finally:
        await connection.close()
