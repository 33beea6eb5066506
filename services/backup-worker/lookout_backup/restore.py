"""Restoring and verifying: every checksum is checked before any table is touched, and
each collection is restored in one transaction.

A corrupt, truncated, tampered or wrong-key backup is refused with the reason, and
the target database is left exactly as it was.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import asyncpg
import zstandard

from lookout_backup.compression import Decompressor
from lookout_backup.crypto import Corrupt, Decryptor, Keyring, WrongKey
from lookout_backup.manifest import MANIFEST, Artifact, Manifest
from lookout_backup.targets import Target

Mode = Literal["replace", "merge"]


class RestoreRefused(Exception):
    """The backup cannot be trusted (or does not exist); nothing was changed."""


@dataclass
class VerifiedArtifact:
    artifact: Artifact
    plaintext: Path | None


@dataclass
class RestoreReport:
    run_id: str
    restored: dict[str, int] = field(default_factory=dict)  # collection -> rows


async def read_manifest(target: Target, run_id: str) -> Manifest:
    key = f"{run_id}/{MANIFEST}"
    if not await target.exists(key):
        raise RestoreRefused(f"run {run_id} has no manifest: it is incomplete or failed")
    try:
        return Manifest.model_validate_json(await target.get_bytes(key))
    except ValueError as error:
        raise RestoreRefused(f"manifest of run {run_id} is unreadable: {error}") from None


def data_key_of(manifest: Manifest, keyring: Keyring) -> bytes | None:
    if not any(a.encrypted for a in manifest.artifacts):
        return None
    try:
        return keyring.unwrap(manifest.wrapped_data_key or "", manifest.key_id or "")
    except WrongKey as error:
        raise RestoreRefused(str(error)) from None


async def _plaintext(
    stored: AsyncIterator[bytes], artifact: Artifact, data_key: bytes | None, sink
) -> tuple[str, str, int]:
    """Decrypt and decompress `stored` into `sink`; (sha256 stored, sha256 plain, size)."""
    stored_digest, plain_digest, plain_size = hashlib.sha256(), hashlib.sha256(), 0
    decryptor = Decryptor(data_key, artifact.key) if artifact.encrypted else None
    decompressor = Decompressor(artifact.compression)

    def take(data: bytes) -> None:
        nonlocal plain_size
        plain = decompressor.update(data)
        plain_digest.update(plain)
        plain_size += len(plain)
        sink(plain)

    async for chunk in stored:
        stored_digest.update(chunk)
        take(decryptor.update(chunk) if decryptor else chunk)
    if decryptor is not None:
        take(decryptor.finish())
    tail = decompressor.finish()
    plain_digest.update(tail)
    plain_size += len(tail)
    sink(tail)
    return stored_digest.hexdigest(), plain_digest.hexdigest(), plain_size


async def verify_artifact(
    target: Target, artifact: Artifact, data_key: bytes | None, into: Path | None
) -> None:
    """Download, decrypt and decompress one artifact, checking both checksums."""
    if artifact.encrypted and data_key is None:
        raise RestoreRefused(f"{artifact.key} is encrypted but no key is available")
    handle = into.open("wb") if into is not None else None
    try:
        stored, plain, size = await _plaintext(
            target.get_stream(artifact.key),
            artifact,
            data_key,
            handle.write if handle else (lambda _data: None),
        )
    except (Corrupt, zstandard.ZstdError, ValueError, EOFError) as error:
        raise RestoreRefused(f"{artifact.key} is corrupt: {error}") from None
    except (OSError, LookupError) as error:
        raise RestoreRefused(f"{artifact.key} cannot be read: {error}") from None
    finally:
        if handle is not None:
            handle.close()
    if stored != artifact.sha256_stored:
        raise RestoreRefused(f"{artifact.key}: stored object checksum mismatch (tampered?)")
    if plain != artifact.sha256_plain or size != artifact.plain_bytes:
        raise RestoreRefused(f"{artifact.key}: content checksum mismatch")


async def verify(target: Target, run_id: str, keyring: Keyring) -> Manifest:
    """Re-download and check every artifact of a run; raises RestoreRefused if any fails."""
    manifest = await read_manifest(target, run_id)
    data_key = data_key_of(manifest, keyring)
    for artifact in manifest.artifacts:
        await verify_artifact(target, artifact, data_key, None)
    return manifest


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _load(
    connection: asyncpg.Connection,
    verified: VerifiedArtifact,
    manifest: Manifest,
    schema: str,
    mode: Mode,
) -> int:
    artifact = verified.artifact
    table = artifact.collection
    outcome = next(c for c in manifest.collections if c.collection == table)
    ddl = outcome.ddl
    qualified = f"{_q(schema)}.{_q(table)}"
    columns = [c.name for c in ddl.columns]
    await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
    await connection.execute(ddl.create_statement(qualified))
    stage = f"lookout_restore_{table}"[:63]
    await connection.execute(
        f"CREATE TEMP TABLE {_q(stage)} (LIKE {qualified} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    if artifact.format == "csv":
        await connection.copy_to_table(
            stage, source=verified.plaintext, format="csv", header=True, columns=columns
        )
    else:
        await connection.execute(
            f"CREATE TEMP TABLE {_q(stage + '_json')} (doc text) ON COMMIT DROP"
        )

        async def documents() -> AsyncIterator[tuple[str]]:
            with verified.plaintext.open("rb") as handle:
                for line in handle:
                    yield (line.rstrip(b"\n").decode(),)

        await connection.copy_records_to_table(stage + "_json", records=documents())
        await connection.execute(
            f"INSERT INTO {_q(stage)} SELECT (json_populate_record(NULL::{qualified}, doc::json)).*"
            f" FROM {_q(stage + '_json')}"
        )
    column_list = ", ".join(_q(c) for c in columns)
    if mode == "replace":
        await connection.execute(f"DELETE FROM {qualified}")
        inserted = await connection.execute(
            f"INSERT INTO {qualified} ({column_list}) SELECT {column_list} FROM {_q(stage)}"
        )
    else:
        if not ddl.primary_key:
            raise RestoreRefused(f"{table} has no primary key: merge needs one; use replace")
        keys = ", ".join(_q(k) for k in ddl.primary_key)
        updates = ", ".join(
            f"{_q(c)} = EXCLUDED.{_q(c)}" for c in columns if c not in ddl.primary_key
        )
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        inserted = await connection.execute(
            f"INSERT INTO {qualified} ({column_list}) SELECT {column_list} FROM {_q(stage)}"
            f" ON CONFLICT ({keys}) {action}"
        )
    return int(inserted.rsplit(" ", 1)[1])


async def restore(
    target: Target,
    run_id: str,
    dest_dsn: str,
    *,
    keyring: Keyring,
    collections: list[str] | None = None,
    mode: Mode = "replace",
    schema: str = "public",
) -> RestoreReport:
    """Restore all (or the named) collections of a verified run into `dest_dsn`."""
    manifest = await read_manifest(target, run_id)
    available = {c.collection for c in manifest.collections if c.ok}
    wanted = collections or sorted(available)
    if missing := [c for c in wanted if c not in available]:
        raise RestoreRefused(f"run {run_id} has no usable backup of: {', '.join(missing)}")
    data_key = data_key_of(manifest, keyring)
    report = RestoreReport(run_id)
    with tempfile.TemporaryDirectory(prefix="lookout-restore-") as scratch:
        verified = []
        for collection in wanted:  # every checksum first, before any table is touched
            artifact = manifest.artifact(collection, "csv")
            path = Path(scratch) / f"{collection}.{artifact.format}"
            await verify_artifact(target, artifact, data_key, path)
            verified.append(VerifiedArtifact(artifact, path))
        connection = await asyncpg.connect(dest_dsn)
        try:
            for item in verified:
                # One transaction per collection. Foreign keys are not checked while
                # loading (replication role), so collections load in any order.
                async with connection.transaction():
                    await _relax_foreign_keys(connection)
                    rows = await _load(connection, item, manifest, schema, mode)
                report.restored[item.artifact.collection] = rows
        finally:
            await connection.close()
    return report


async def _relax_foreign_keys(connection: asyncpg.Connection) -> None:
    is_superuser = await connection.fetchval(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    )
    if is_superuser:
        await connection.execute("SET LOCAL session_replication_role = replica")
