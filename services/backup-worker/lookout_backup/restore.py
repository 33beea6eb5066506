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
from lookout_backup.export import table_fingerprint
from lookout_backup.manifest import MANIFEST, Artifact, CollectionOutcome, Manifest
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


@dataclass
class Step:
    """One run's contribution to a collection: all rows, or changes plus every key."""

    manifest: Manifest
    outcome: CollectionOutcome
    rows: VerifiedArtifact
    keys: VerifiedArtifact | None = None


async def chain_of(target: Target, manifest: Manifest) -> list[Manifest]:
    """The run and every base it stands on, oldest (the full run) first."""
    chain = [manifest]
    while chain[0].base_run_id is not None:
        chain.insert(0, await read_manifest(target, chain[0].base_run_id))
    return chain


def _steps(chain: list[Manifest], collection: str) -> list[tuple[Manifest, CollectionOutcome]]:
    steps: list[tuple[Manifest, CollectionOutcome]] = []
    for manifest in reversed(chain):
        outcome = manifest.outcome(collection)
        if outcome is None or not outcome.ok:
            raise RestoreRefused(f"run {manifest.run_id} has no usable backup of {collection}")
        steps.insert(0, (manifest, outcome))
        if outcome.mode == "full":
            return steps
    raise RestoreRefused(f"the chain of {chain[-1].run_id} has no full backup of {collection}")


async def _stage_file(
    connection: asyncpg.Connection,
    stage: str,
    like: str,
    verified: VerifiedArtifact,
    columns,
    schema: str | None = None,
) -> None:
    """Load one verified plaintext file into the table `stage` (temporary unless `schema`)."""
    if verified.artifact.format == "csv":
        await connection.copy_to_table(
            stage,
            schema_name=schema,
            source=verified.plaintext,
            format="csv",
            header=True,
            columns=columns,
        )
        return
    documents_table = f"{stage}_json"
    await connection.execute(f"CREATE TEMP TABLE {_q(documents_table)} (doc text) ON COMMIT DROP")

    async def documents() -> AsyncIterator[tuple[str]]:
        with verified.plaintext.open("rb") as handle:
            for line in handle:
                yield (line.rstrip(b"\n").decode(),)

    await connection.copy_records_to_table(documents_table, records=documents())
    into = f"{_q(schema)}.{_q(stage)}" if schema else _q(stage)
    await connection.execute(
        f"INSERT INTO {into} SELECT (json_populate_record(NULL::{like}, doc::json)).*"
        f" FROM {_q(documents_table)}"
    )


async def _load(connection: asyncpg.Connection, steps: list[Step], schema: str, mode: Mode) -> int:
    """Rebuild the collection's state in a staging table (full run, then each
    incremental's changes and deletes), then replace or merge it into the target."""
    latest = steps[-1].outcome
    table, ddl = latest.collection, latest.ddl
    qualified = f"{_q(schema)}.{_q(table)}"
    columns = [c.name for c in ddl.columns]
    column_list = ", ".join(_q(c) for c in columns)
    keys = ", ".join(_q(k) for k in ddl.primary_key)
    await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(schema)}")
    new_table = await connection.fetchval("SELECT to_regclass($1) IS NULL", qualified)
    if len(steps) == 1 and mode == "replace":
        # The common case, straight into the table: a new table gets its primary key
        # after the load (one index build instead of one insert per row), as pg_restore does.
        await connection.execute(ddl.create_statement(qualified, with_key=not new_table))
        await connection.execute(f"DELETE FROM {qualified}")
        await _stage_file(connection, table, qualified, steps[0].rows, columns, schema)
        if new_table and ddl.primary_key:
            await connection.execute(ddl.key_statement(qualified))
        return latest.rows
    await connection.execute(ddl.create_statement(qualified))
    state = f"lookout_restore_{table}"[:50]
    await connection.execute(
        f"CREATE TEMP TABLE {_q(state)} (LIKE {qualified} INCLUDING DEFAULTS) ON COMMIT DROP"
    )
    if ddl.primary_key:
        await connection.execute(f"ALTER TABLE {_q(state)} ADD PRIMARY KEY ({keys})")
    upsert = ", ".join(f"{_q(c)} = EXCLUDED.{_q(c)}" for c in columns if c not in ddl.primary_key)
    conflict = f"ON CONFLICT ({keys}) " + (f"DO UPDATE SET {upsert}" if upsert else "DO NOTHING")
    for number, step in enumerate(steps):
        if step.outcome.mode == "full":
            await _stage_file(connection, state, qualified, step.rows, columns)
            continue
        changes, present = f"{state}_c{number}", f"{state}_k{number}"
        await connection.execute(
            f"CREATE TEMP TABLE {_q(changes)} (LIKE {qualified} INCLUDING DEFAULTS) ON COMMIT DROP"
        )
        await _stage_file(connection, changes, qualified, step.rows, columns)
        await connection.execute(
            f"INSERT INTO {_q(state)} ({column_list}) SELECT {column_list} FROM {_q(changes)} "
            + conflict
        )
        await connection.execute(
            f"CREATE TEMP TABLE {_q(present)} ON COMMIT DROP AS"
            f" SELECT {keys} FROM {_q(state)} WITH NO DATA"
        )
        await connection.copy_to_table(
            present,
            source=step.keys.plaintext,
            format="csv",
            header=True,
            columns=list(ddl.primary_key),
        )
        matches = " AND ".join(f"k.{_q(k)} = s.{_q(k)}" for k in ddl.primary_key)
        await connection.execute(  # rows deleted at the source since the previous run
            f"DELETE FROM {_q(state)} AS s WHERE NOT EXISTS"
            f" (SELECT 1 FROM {_q(present)} AS k WHERE {matches})"
        )
    if mode == "replace":
        await connection.execute(f"DELETE FROM {qualified}")
        inserted = await connection.execute(
            f"INSERT INTO {qualified} ({column_list}) SELECT {column_list} FROM {_q(state)}"
        )
    else:
        if not ddl.primary_key:
            raise RestoreRefused(f"{table} has no primary key: merge needs one; use replace")
        inserted = await connection.execute(
            f"INSERT INTO {qualified} ({column_list}) SELECT {column_list} FROM {_q(state)} "
            + conflict
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
    """Restore all (or the named) collections of a verified run (an incremental one is
    replayed on top of its chain) into `dest_dsn`."""
    manifest = await read_manifest(target, run_id)
    available = {c.collection for c in manifest.collections if c.ok}
    wanted = collections or sorted(available)
    if missing := [c for c in wanted if c not in available]:
        raise RestoreRefused(f"run {run_id} has no usable backup of: {', '.join(missing)}")
    chain = await chain_of(target, manifest)
    keys = {m.run_id: data_key_of(m, keyring) for m in chain}
    report = RestoreReport(run_id)
    with tempfile.TemporaryDirectory(prefix="lookout-restore-") as scratch:
        plans: list[list[Step]] = []
        for collection in wanted:  # every checksum first, before any table is touched
            steps = []
            for run, outcome in _steps(chain, collection):
                fetched = []
                for kind in ("rows", "keys") if outcome.mode == "changes" else ("rows",):
                    artifact = run.artifact(collection, "csv", kind)
                    if artifact is None:
                        raise RestoreRefused(f"run {run.run_id} lists no {kind} of {collection}")
                    path = Path(scratch) / f"{run.run_id}.{collection}.{kind}.{artifact.format}"
                    await verify_artifact(target, artifact, keys[run.run_id], path)
                    fetched.append(VerifiedArtifact(artifact, path))
                steps.append(Step(run, outcome, *fetched))
            plans.append(steps)
        connection = await asyncpg.connect(dest_dsn)
        try:
            for steps in plans:
                # One transaction per collection. Foreign keys are not checked while
                # loading (replication role), so collections load in any order.
                async with connection.transaction():
                    await _relax_foreign_keys(connection)
                    rows = await _load(connection, steps, schema, mode)
                report.restored[steps[-1].outcome.collection] = rows
        finally:
            await connection.close()
    return report


async def _relax_foreign_keys(connection: asyncpg.Connection) -> None:
    is_superuser = await connection.fetchval(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    )
    if is_superuser:
        await connection.execute("SET LOCAL session_replication_role = replica")


@dataclass
class TrialRestoreReport:
    run_id: str
    schema: str
    mismatches: dict[str, str] = field(default_factory=dict)  # collection -> what differs
    checked: list[str] = field(default_factory=list)


async def trial_restore(
    target: Target, run_id: str, scratch_dsn: str, *, keyring: Keyring
) -> TrialRestoreReport:
    """Restore a run into a scratch schema and compare each table's row count and content
    hash with the snapshot's; the scratch schema is dropped afterwards."""
    manifest = await read_manifest(target, run_id)
    schema = f"lookout_trial_{hashlib.sha256(run_id.encode()).hexdigest()[:12]}"
    report = TrialRestoreReport(run_id, schema)
    await restore(target, run_id, scratch_dsn, keyring=keyring, schema=schema)
    connection = await asyncpg.connect(scratch_dsn)
    try:
        for outcome in manifest.collections:
            if not outcome.ok or outcome.content_hash is None:
                continue
            rows, content = await table_fingerprint(
                connection, f"{_q(schema)}.{_q(outcome.collection)}"
            )
            expected = await _snapshot_rows(target, manifest, outcome.collection)
            if rows != expected or content != outcome.content_hash:
                report.mismatches[outcome.collection] = (
                    f"{rows} rows (expected {expected}), hash {content}"
                    f" (expected {outcome.content_hash})"
                )
            report.checked.append(outcome.collection)
    finally:
        await connection.execute(f"DROP SCHEMA IF EXISTS {_q(schema)} CASCADE")
        await connection.close()
    return report


async def _snapshot_rows(target: Target, manifest: Manifest, collection: str) -> int:
    """Rows of the collection in the run's snapshot (an incremental's keys artifact
    counts them; a full run's rows artifact does)."""
    keys = manifest.artifact(collection, "csv", "keys")
    if keys is not None:
        return keys.rows
    return manifest.outcome(collection).rows
