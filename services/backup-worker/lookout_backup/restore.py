"""Restoring and verifying: the manifest is authenticated and every checksum is checked
before any table is touched, and each collection is restored in one transaction (the
loading itself is `load.py`).

A corrupt, truncated, tampered or wrong-key backup is refused with the reason, and
the target database is left exactly as it was. Every statement is prepared (the
extended protocol: one statement, parameters bound), every identifier quoted by
`names.quote`, every column type checked with `to_regtype` before it reaches DDL.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import zstandard

from lookout_backup.crypto import Corrupt, Keyring, WrongKey
from lookout_backup.export import is_lookout_database, table_fingerprint
from lookout_backup.load import (
    Mode,
    RestoreRefused,
    Step,
    VerifiedArtifact,
    load_collection,
    run,
)
from lookout_backup.manifest import (
    MANIFEST,
    Artifact,
    CollectionOutcome,
    Manifest,
    ManifestRejected,
    open_manifest,
)
from lookout_backup.names import INTERNAL_TABLES, SAFE_RUN_ID, object_stem, qualified, quote
from lookout_backup.plaintext import PlaintextDecoder
from lookout_backup.targets import Target
from lookout_common.infra import erasure_ledger, step_records


@dataclass
class RestoreReport:
    run_id: str
    restored: dict[str, int] = field(default_factory=dict)  # collection -> rows


async def read_manifest(
    target: Target, run_id: str, keyring: Keyring, recorded: Mapping[str, bool] | None = None
) -> Manifest:
    """The authenticated, validated manifest of `run_id`. `recorded` holds what the run
    records say (run id -> authenticated): a manifest may not claim less."""
    if not SAFE_RUN_ID.fullmatch(run_id):
        raise RestoreRefused(f"{run_id[:100]!r} is not a run id")
    key = f"{run_id}/{MANIFEST}"
    if not await target.exists(key):
        raise RestoreRefused(f"run {run_id} has no manifest: it is incomplete or failed")
    try:
        raw = await target.get_bytes(key)
        return open_manifest(raw, run_id, keyring, (recorded or {}).get(run_id))
    except ManifestRejected as error:
        raise RestoreRefused(str(error)) from None
    except OSError as error:
        raise RestoreRefused(f"manifest of run {run_id} cannot be read: {error}") from None


def data_key_of(manifest: Manifest, keyring: Keyring) -> bytes | None:
    if manifest.key_id is None:
        return None
    try:
        return keyring.unwrap(manifest.wrapped_data_key or "", manifest.key_id or "")
    except WrongKey as error:
        raise RestoreRefused(str(error)) from None


async def verify_artifact(
    target: Target, artifact: Artifact, data_key: bytes | None, into: Path | None
) -> None:
    """Download one artifact, open every AES-GCM frame, decompress it and check both
    checksums and the size; with `into`, the stored bytes that were checked are kept
    there (what `load` reads back). Raises RestoreRefused with the reason."""
    if artifact.encrypted and data_key is None:
        raise RestoreRefused(f"{artifact.key} is encrypted but no key is available")
    handle = into.open("wb") if into is not None else None
    try:
        decoder = PlaintextDecoder(artifact, data_key)
        async for chunk in target.get_stream(artifact.key):
            decoder.feed(chunk)
            if handle is not None:
                handle.write(chunk)
        decoder.finish()
    except (Corrupt, zstandard.ZstdError, ValueError, EOFError) as error:
        raise RestoreRefused(f"{artifact.key} is corrupt: {error}") from None
    except (OSError, LookupError) as error:
        raise RestoreRefused(f"{artifact.key} cannot be read: {error}") from None
    finally:
        if handle is not None:
            handle.close()
    if decoder.stored_digest.hexdigest() != artifact.sha256_stored:
        raise RestoreRefused(f"{artifact.key}: stored object checksum mismatch (tampered?)")
    if (
        decoder.plain_digest.hexdigest() != artifact.sha256_plain
        or decoder.plain_size != artifact.plain_bytes
    ):
        raise RestoreRefused(f"{artifact.key}: content checksum mismatch")


async def verify(
    target: Target, run_id: str, keyring: Keyring, recorded: Mapping[str, bool] | None = None
) -> Manifest:
    """Authenticate the manifest, then re-download and check every artifact of a run;
    raises RestoreRefused if anything fails."""
    manifest = await read_manifest(target, run_id, keyring, recorded)
    data_key = data_key_of(manifest, keyring)
    for artifact in manifest.artifacts:
        await verify_artifact(target, artifact, data_key, None)
    return manifest


def scratch_file(scratch: Path, run_id: str, collection: str, kind: str, fmt: str) -> Path:
    """Where a verified artifact's stored bytes wait: named from the validated run id and
    the collection's safe stem, and never outside `scratch`."""
    if not SAFE_RUN_ID.fullmatch(run_id):
        raise RestoreRefused(f"{run_id[:100]!r} is not a run id")
    path = (scratch / f"{run_id}.{object_stem(collection)}.{kind}.{fmt}").resolve()
    if path.parent != scratch.resolve():
        raise RestoreRefused(f"scratch file for {run_id}/{collection} leaves the scratch directory")
    return path


async def chain_of(
    target: Target, manifest: Manifest, keyring: Keyring, recorded: Mapping[str, bool] | None
) -> list[Manifest]:
    """The run and every base it stands on, oldest (the full run) first."""
    chain = [manifest]
    while chain[0].base_run_id is not None:
        if any(m.run_id == chain[0].base_run_id for m in chain):
            raise RestoreRefused(f"the chain of {manifest.run_id} loops")
        chain.insert(0, await read_manifest(target, chain[0].base_run_id, keyring, recorded))
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


async def _reapply_erasures(
    connection: asyncpg.Connection, schema: str, table: str, erased: Sequence[str]
) -> int:
    """Delete the rows of erased people from a restored personal table (same transaction);
    from a restored step_times, the records of their person keys (an erased anonymous id's
    events stored under another user's id keep their records there, as the ledger names
    ids, not events)."""
    if table == step_records.TABLE and erased:
        keys = step_records.ledger_keys(erased)
        return await step_records.remove(connection, keys, qualified(schema, table))
    personal = erasure_ledger.BY_NAME.get(table)
    if personal is None or not erased:
        return 0
    status = await run(
        connection,
        erasure_ledger.reapply_statement(personal, qualified(schema, table)),
        list(erased),
    )
    return int(status.rsplit(" ", 1)[1])


async def _wanted(
    connection: asyncpg.Connection,
    manifest: Manifest,
    collections: list[str] | None,
    include_internal: bool,
) -> list[str]:
    """The collections to restore: those named, or every usable one; Lookout's own
    tables only with `include_internal` when the destination is Lookout's database."""
    available = {c.collection for c in manifest.collections if c.ok}
    fenced = not include_internal and await is_lookout_database(connection)
    if collections:
        if missing := [c for c in collections if c not in available]:
            raise RestoreRefused(
                f"run {manifest.run_id} has no usable backup of: {', '.join(missing)}"
            )
        if fenced and (internal := [c for c in collections if c in INTERNAL_TABLES]):
            raise RestoreRefused(
                f"{', '.join(internal)}: Lookout's own tables are restored only when named"
                " with --include-internal"
            )
        return list(collections)
    return sorted(c for c in available if not (fenced and c in INTERNAL_TABLES))


async def restore(
    target: Target,
    run_id: str,
    dest_dsn: str,
    *,
    keyring: Keyring,
    collections: list[str] | None = None,
    mode: Mode = "replace",
    schema: str = "public",
    include_internal: bool = False,
    erased: Sequence[str] = (),
    role: str | None = None,
    recorded: Mapping[str, bool] | None = None,
) -> RestoreReport:
    """Restore all (or the named) collections of a verified run (an incremental one is
    replayed on top of its chain) into `dest_dsn`, as `role` when one is given.

    Every artifact is verified before any table is touched. Each collection is loaded
    and committed in its own transaction; when this returns, every one of those commits
    is durable (flushed to the WAL), whatever the server's synchronous_commit.

    `erased` (the erasure ledger's hashes) is re-applied to every restored personal
    table in the transaction that loads it, so erased people stay erased."""
    manifest = await read_manifest(target, run_id, keyring, recorded)
    chain = await chain_of(target, manifest, keyring, recorded)
    keys = {m.run_id: data_key_of(m, keyring) for m in chain}
    report = RestoreReport(run_id)
    connection = await asyncpg.connect(dest_dsn)
    try:
        if role:
            # Not a superuser while loading: a flaw anywhere above still could not reach
            # COPY … TO PROGRAM or another database's files.
            await run(connection, f"SET ROLE {quote(role)}")
        wanted = await _wanted(connection, manifest, collections, include_internal)
        with tempfile.TemporaryDirectory(prefix="lookout-restore-") as scratch:
            plans: list[list[Step]] = []
            for collection in wanted:  # every checksum first, before any table is touched
                steps: list[Step] = []
                for step_run, outcome in _steps(chain, collection):
                    fetched: list[VerifiedArtifact] = []
                    kinds = ("rows", "keys") if outcome.mode == "changes" else ("rows",)
                    for kind in kinds:
                        artifact = step_run.artifact(collection, "csv", kind)
                        if artifact is None:
                            raise RestoreRefused(
                                f"run {step_run.run_id} lists no {kind} of {collection}"
                            )
                        path = scratch_file(
                            Path(scratch), step_run.run_id, collection, kind, artifact.format
                        )
                        await verify_artifact(target, artifact, keys[step_run.run_id], path)
                        fetched.append(VerifiedArtifact(artifact, path, keys[step_run.run_id]))
                    steps.append(Step(step_run, outcome, *fetched))
                plans.append(steps)
            for steps in plans:
                # One transaction per collection. Foreign keys are not checked while
                # loading (replication role, superusers only), so collections load in
                # any order. Its commit does not wait for the WAL flush: the last
                # statement below does, for all of them.
                collection = steps[-1].outcome.collection
                async with connection.transaction():
                    await run(connection, "SET LOCAL synchronous_commit = off")
                    await _relax_foreign_keys(connection)
                    rows = await load_collection(connection, steps, schema, mode)
                    await _reapply_erasures(connection, schema, collection, erased)
                report.restored[collection] = rows
        await make_commits_durable(connection)
    finally:
        await connection.close()
    return report


async def make_commits_durable(connection: asyncpg.Connection) -> None:
    """Returns once every commit this session made is durable: with synchronous_commit
    on, a commit that wrote WAL waits for the WAL to be flushed through its own commit
    record, and so through every earlier one. (A temporary table's catalog rows are
    WAL-logged; a transaction that only takes an id writes none and would not wait.)"""
    async with connection.transaction():
        await run(connection, "SET LOCAL synchronous_commit = on")
        await run(connection, "CREATE TEMP TABLE lookout_restore_durable () ON COMMIT DROP")


async def _relax_foreign_keys(connection: asyncpg.Connection) -> None:
    is_superuser = await connection.fetchval(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
    )
    if is_superuser:
        await run(connection, "SET LOCAL session_replication_role = replica")


@dataclass
class TrialRestoreReport:
    run_id: str
    schema: str
    mismatches: dict[str, str] = field(default_factory=dict)  # collection -> what differs
    checked: list[str] = field(default_factory=list)


async def trial_restore(
    target: Target,
    run_id: str,
    scratch_dsn: str,
    *,
    keyring: Keyring,
    role: str | None = None,
    recorded: Mapping[str, bool] | None = None,
) -> TrialRestoreReport:
    """Restore a run into a scratch schema and compare each table's row count and content
    hash with the snapshot's; the scratch schema is dropped afterwards.

    Erasures are not re-applied here: the copy must match the snapshot, and it is
    dropped before this returns."""
    manifest = await read_manifest(target, run_id, keyring, recorded)
    schema = f"lookout_trial_{hashlib.sha256(run_id.encode()).hexdigest()[:12]}"
    report = TrialRestoreReport(run_id, schema)
    connection = await asyncpg.connect(scratch_dsn)
    try:
        await restore(
            target,
            run_id,
            scratch_dsn,
            keyring=keyring,
            schema=schema,
            include_internal=True,  # a scratch schema: Lookout's tables there grant nothing
            role=role,
            recorded=recorded,
        )
        for outcome in manifest.collections:
            if not outcome.ok or outcome.content_hash is None:
                continue
            rows, content = await table_fingerprint(
                connection, qualified(schema, outcome.collection)
            )
            expected = await _snapshot_rows(target, manifest, outcome.collection)
            if rows != expected or content != outcome.content_hash:
                report.mismatches[outcome.collection] = (
                    f"{rows} rows (expected {expected}), hash {content}"
                    f" (expected {outcome.content_hash})"
                )
            report.checked.append(outcome.collection)
    finally:
        await run(connection, f"DROP SCHEMA IF EXISTS {quote(schema)} CASCADE")
        await connection.close()
    return report


async def _snapshot_rows(target: Target, manifest: Manifest, collection: str) -> int:
    """Rows of the collection in the run's snapshot (an incremental's keys artifact
    counts them; a full run's rows artifact does)."""
    keys = manifest.artifact(collection, "csv", "keys")
    if keys is not None:
        return keys.rows
    outcome = manifest.outcome(collection)
    return outcome.rows if outcome is not None else 0
