"""Backups against a real Postgres and real targets: every column type survives a round
trip byte for byte; broken backups are refused and change nothing."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest
from support.backups import table_dump

from lookout_backup.crypto import Keyring
from lookout_backup.export import BackupPlan, run_backup
from lookout_backup.manifest import seal
from lookout_backup.restore import RestoreRefused, restore, trial_restore, verify
from lookout_backup.runner import new_run_id
from lookout_devstack.marketplace import TABLES

pytestmark = pytest.mark.integration


def plan(**changes) -> BackupPlan:
    return BackupPlan(run_id=new_run_id("backup"), **changes)


async def snapshot(database_url: str, tables=TABLES) -> dict[str, list[bytes]]:
    return {table: await table_dump(database_url, table) for table in tables}


async def wipe(database_url: str) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    finally:
        await connection.close()


@pytest.mark.parametrize(("fmt", "compression"), [("csv", "zstd"), ("json", "gzip")])
async def test_every_column_type_round_trips_byte_for_byte(
    marketplace, local_target, keyring, fmt, compression
) -> None:
    before = await snapshot(marketplace)
    assert all(before.values())
    manifest = await run_backup(
        marketplace, local_target, plan(format=fmt, compression=compression), keyring
    )
    assert manifest.status == "succeeded", [c for c in manifest.collections if not c.ok]
    assert {a.collection for a in manifest.artifacts} >= set(TABLES)
    assert all(a.encrypted and a.format == fmt for a in manifest.artifacts)
    assert manifest.key_id is not None
    rows = {c.collection: c.rows for c in manifest.collections}
    assert {table: rows[table] for table in TABLES} == {t: len(v) for t, v in before.items()}

    await wipe(marketplace)
    report = await restore(local_target, manifest.run_id, marketplace, keyring=keyring)
    assert report.restored == rows
    assert await snapshot(marketplace) == before


async def test_s3_target_round_trip_with_both_formats(marketplace, s3_target, keyring) -> None:
    before = await snapshot(marketplace)
    manifest = await run_backup(
        marketplace, s3_target, plan(format="both", collections=list(TABLES)), keyring
    )
    assert len(manifest.artifacts) == 2 * len(TABLES)
    await verify(s3_target, manifest.run_id, keyring)
    await wipe(marketplace)
    await restore(s3_target, manifest.run_id, marketplace, keyring=keyring)
    assert await snapshot(marketplace) == before
    assert manifest.run_id in await s3_target.list_runs()


async def test_selective_restore_into_another_schema_and_merge(
    marketplace, local_target, keyring
) -> None:
    manifest = await run_backup(marketplace, local_target, plan(collections=list(TABLES)), keyring)
    report = await restore(
        local_target,
        manifest.run_id,
        marketplace,
        keyring=keyring,
        collections=["users", "places"],
        schema="restored",
    )
    assert set(report.restored) == {"users", "places"}
    assert await table_dump(marketplace, "users", "restored") == await table_dump(
        marketplace, "users"
    )
    connection = await asyncpg.connect(marketplace)
    try:
        assert await connection.fetchval("SELECT to_regclass('restored.bookings')") is None
        await connection.execute("UPDATE users SET full_name = 'changed' WHERE id <= 10")
        await connection.execute("DELETE FROM bookings WHERE id <= 5")
    finally:
        await connection.close()
    await restore(
        local_target,
        manifest.run_id,
        marketplace,
        keyring=keyring,
        collections=["users"],
        mode="merge",
    )
    connection = await asyncpg.connect(marketplace)
    try:
        assert (
            await connection.fetchval("SELECT count(*) FROM users WHERE full_name = 'changed'") == 0
        )
    finally:
        await connection.close()


async def test_missing_table_makes_the_run_partial_and_the_rest_is_backed_up(
    marketplace, local_target, keyring
) -> None:
    manifest = await run_backup(
        marketplace, local_target, plan(collections=["users", "no_such_table", "places"]), keyring
    )
    assert manifest.status == "partial"
    failed = [c for c in manifest.collections if not c.ok]
    assert [(c.collection, c.error) for c in failed] == [
        ("no_such_table", "table public.no_such_table does not exist")
    ]
    assert {a.collection for a in manifest.artifacts} == {"users", "places"}
    with pytest.raises(RestoreRefused, match="no usable backup of: no_such_table"):
        await restore(
            local_target,
            manifest.run_id,
            marketplace,
            keyring=keyring,
            collections=["no_such_table"],
        )


async def _refused_and_unchanged(target, run_id, database_url, keyring, match: str) -> None:
    await asyncio.sleep(0)
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("DELETE FROM messages WHERE id % 2 = 0")
    finally:
        await connection.close()
    before = await snapshot(database_url)
    with pytest.raises(RestoreRefused, match=match):
        await restore(target, run_id, database_url, keyring=keyring)
    assert await snapshot(database_url) == before


async def test_tampered_artifact_is_refused_and_nothing_changes(
    marketplace, local_target, keyring
) -> None:
    manifest = await run_backup(marketplace, local_target, plan(collections=list(TABLES)), keyring)
    victim = local_target.root / manifest.artifact("messages").key
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    await _refused_and_unchanged(local_target, manifest.run_id, marketplace, keyring, "messages")
    with pytest.raises(RestoreRefused):
        await verify(local_target, manifest.run_id, keyring)


async def test_truncated_artifact_is_refused_and_nothing_changes(
    marketplace, local_target, keyring
) -> None:
    manifest = await run_backup(
        marketplace, local_target, plan(compression="none", collections=list(TABLES)), keyring
    )
    victim = local_target.root / manifest.artifact("users").key
    victim.write_bytes(victim.read_bytes()[:-100])
    await _refused_and_unchanged(local_target, manifest.run_id, marketplace, keyring, "users")


async def test_wrong_key_is_refused_and_rotated_keys_still_read_old_backups(
    marketplace, local_target, keyring
) -> None:
    manifest = await run_backup(marketplace, local_target, plan(collections=list(TABLES)), keyring)
    stranger = Keyring(os.urandom(32))
    await _refused_and_unchanged(
        local_target, manifest.run_id, marketplace, stranger, "not configured"
    )
    rotated = Keyring(os.urandom(32), older=[keyring.current])
    await verify(local_target, manifest.run_id, rotated)


async def test_run_without_manifest_is_refused(marketplace, local_target, keyring) -> None:
    manifest = await run_backup(marketplace, local_target, plan(collections=list(TABLES)), keyring)
    (local_target.root / manifest.run_id / "manifest.json").unlink()
    with pytest.raises(RestoreRefused, match="no manifest"):
        await restore(local_target, manifest.run_id, marketplace, keyring=keyring)


def delete_user(user_id: int) -> list[str]:
    """Delete a user and what references them (messages, chats, bookings)."""
    return [
        f"DELETE FROM messages WHERE chat_id IN (SELECT id FROM chats WHERE user_id = {user_id})",
        f"DELETE FROM chats WHERE user_id = {user_id}",
        f"DELETE FROM bookings WHERE user_id = {user_id}",
        f"DELETE FROM users WHERE id = {user_id}",
    ]


async def _change(database_url: str, statements: list[str]) -> None:
    connection = await asyncpg.connect(database_url)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


async def test_incremental_chain_replays_inserts_updates_and_deletes_exactly(
    marketplace, local_target, keyring
) -> None:
    tables = ["users", "places"]
    full = await run_backup(marketplace, local_target, plan(collections=tables), keyring)
    users_before = len(await table_dump(marketplace, "users"))
    await _change(
        marketplace,
        [
            "INSERT INTO users (email, full_name) VALUES ('new1@example.com', 'Zoë Neu')",
            "UPDATE users SET full_name = 'Renamed', updated_at = now() WHERE id IN (3, 4)",
            *delete_user(20),
            *delete_user(21),
        ],
    )
    first = await run_backup(
        marketplace, local_target, plan(collections=tables, base=full), keyring
    )
    assert first.type == "incremental"
    assert first.base_run_id == full.run_id
    users = first.outcome("users")
    assert users.mode == "changes"
    assert users.rows == 3  # one insert, two updates; deletes travel as the key set
    assert users.watermark is not None
    assert first.artifact("users", kind="keys") is not None
    await _change(
        marketplace,
        [
            "INSERT INTO users (email) VALUES ('new2@example.com')",
            "UPDATE users SET locale = 'de-DE', updated_at = now()"
            " WHERE email = 'new1@example.com'",
            *delete_user(22),
        ],
    )
    second = await run_backup(
        marketplace, local_target, plan(collections=tables, base=first), keyring
    )
    expected = {table: await table_dump(marketplace, table) for table in tables}
    assert len(expected["users"]) == users_before + 2 - 3  # two inserted, three deleted

    report = await restore(
        local_target, second.run_id, marketplace, keyring=keyring, schema="replayed"
    )
    assert set(report.restored) == set(tables)
    for table in tables:
        assert await table_dump(marketplace, table, "replayed") == expected[table], table

    (local_target.root / first.artifact("users", kind="keys").key).write_bytes(b"tampered")
    with pytest.raises(RestoreRefused, match=r"users\.keys"):
        await restore(local_target, second.run_id, marketplace, keyring=keyring, schema="again")


async def test_trial_restore_compares_counts_and_contents_and_cleans_up(
    marketplace, local_target, keyring
) -> None:
    manifest = await run_backup(marketplace, local_target, plan(collections=list(TABLES)), keyring)
    report = await trial_restore(local_target, manifest.run_id, marketplace, keyring=keyring)
    assert sorted(report.checked) == sorted(TABLES)
    assert report.mismatches == {}
    connection = await asyncpg.connect(marketplace)
    try:
        assert await connection.fetchval("SELECT to_regnamespace($1)", report.schema) is None
    finally:
        await connection.close()

    # A snapshot that does not match what comes back is reported, table by table (a
    # manifest edited by someone holding the key, since no one else can edit one).
    path = local_target.root / manifest.run_id / "manifest.json"
    edited = manifest.model_copy(deep=True)
    edited.outcome("users").content_hash = "12345"
    path.write_bytes(seal(edited, keyring))
    report = await trial_restore(local_target, manifest.run_id, marketplace, keyring=keyring)
    assert list(report.mismatches) == ["users"]
    assert "expected 12345" in report.mismatches["users"]
