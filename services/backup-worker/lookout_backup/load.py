"""Loading verified artifacts into the destination: one collection's state rebuilt
(a full run, then each incremental's changes and deletes) and replaced or merged into
its table, inside the caller's transaction.

Only artifacts `restore.verify_artifact` has verified reach this module: each one's
stored bytes wait in the private scratch copy that was checked, and are decrypted and
decompressed again straight into COPY. The stored checksum and the AES-GCM frames are
checked again on the way; a difference raises `RestoreRefused` before COPY ends, so the
caller's transaction rolls back and the table is left as it was.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import asyncpg
import zstandard

from lookout_backup.crypto import Corrupt
from lookout_backup.manifest import Artifact, CollectionDDL, CollectionOutcome, Manifest
from lookout_backup.names import APPEND_ONLY_TABLES, qualified, quote
from lookout_backup.plaintext import PlaintextDecoder

Mode = Literal["replace", "merge"]

READ_CHUNK = 1024 * 1024  # stored bytes per read of the scratch copy
# The primary key of a new table is built after its rows are loaded, in memory when it fits.
INDEX_BUILD_MEMORY = "256MB"


class RestoreRefused(Exception):
    """The backup cannot be trusted (or does not exist); nothing was changed."""


@dataclass
class VerifiedArtifact:
    """An artifact whose checksums and frames were verified, and the private scratch copy
    of the stored bytes that were checked (`data_key` opens them)."""

    artifact: Artifact
    stored: Path
    data_key: bytes | None


@dataclass
class Step:
    """One run's contribution to a collection: all rows, or changes plus every key."""

    manifest: Manifest
    outcome: CollectionOutcome
    rows: VerifiedArtifact
    keys: VerifiedArtifact | None = None


async def run(connection: asyncpg.Connection, sql: str, *args: object) -> str:
    """One statement through the extended protocol (prepared, parameters bound: a second
    statement in `sql` is a syntax error, never executed); returns its status."""
    statement = await connection.prepare(sql)
    await statement.fetch(*args)
    status: str = statement.get_statusmsg()
    return status


async def plaintext(verified: VerifiedArtifact) -> AsyncIterator[bytes]:
    """The artifact's plaintext, decoded from its scratch copy in chunks of a few MB.

    Raises RestoreRefused, before the last chunk, when the copy no longer matches the
    checksums the manifest holds or a frame does not authenticate."""
    artifact = verified.artifact
    # The stored digest proves these are the bytes that were verified (the plaintext's
    # digest was checked then); the AES-GCM frames are authenticated again on the way.
    decoder = PlaintextDecoder(artifact, verified.data_key, digest_plaintext=False)
    try:
        with verified.stored.open("rb") as handle:
            while chunk := handle.read(READ_CHUNK):
                if plain := decoder.feed(chunk):
                    yield plain
        tail = decoder.finish()
    except (Corrupt, zstandard.ZstdError, ValueError, EOFError) as error:
        raise RestoreRefused(f"{artifact.key} changed after it was verified: {error}") from None
    if (
        decoder.stored_digest.hexdigest() != artifact.sha256_stored
        or decoder.plain_size != artifact.plain_bytes
    ):
        raise RestoreRefused(f"{artifact.key} changed after it was verified")
    if tail:
        yield tail


async def _lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[str]]:
    """One record per line of the plaintext (JSON documents, one a line)."""
    rest = b""
    async for chunk in chunks:
        *lines, rest = (rest + chunk).split(b"\n")
        for line in lines:
            yield (line.decode(),)
    if rest:
        yield (rest.decode(),)


async def check_types(connection: asyncpg.Connection, ddl: CollectionDDL) -> None:
    """Every column type names a type this database has (`to_regtype`), on top of the
    shape check the manifest's model made."""
    for column in ddl.columns:
        try:
            known = await connection.fetchval("SELECT to_regtype($1) IS NOT NULL", column.type)
        except asyncpg.PostgresError:
            known = False
        if not known:
            raise RestoreRefused(f"column {column.name!r} has unknown type {column.type!r}")


async def stage(
    connection: asyncpg.Connection,
    table: str,
    like: str,
    verified: VerifiedArtifact,
    columns: list[str],
    schema: str | None = None,
    *,
    freeze: bool = False,
) -> None:
    """Load one verified artifact into `table` (temporary unless `schema`); `like` is the
    quoted qualified table whose row type the JSON documents have. `freeze`: the table
    was created in this transaction, so its rows are written frozen (COPY FREEZE)."""
    if verified.artifact.format == "csv":
        await connection.copy_to_table(  # asyncpg quotes the table and column names
            table,
            schema_name=schema,
            source=plaintext(verified),
            format="csv",
            header=True,
            columns=columns,
            freeze=freeze or None,
        )
        return
    documents = "lookout_restore_documents"
    await run(connection, f"CREATE TEMP TABLE IF NOT EXISTS {documents} (doc text) ON COMMIT DROP")
    await run(connection, f"TRUNCATE {documents}")
    await connection.copy_records_to_table(documents, records=_lines(plaintext(verified)))
    into = qualified(schema, table) if schema else quote(table)
    await run(
        connection,
        f"INSERT INTO {into} SELECT (json_populate_record(NULL::{like}, doc::json)).*"
        f" FROM {documents}",
    )


async def load_collection(
    connection: asyncpg.Connection, steps: list[Step], schema: str, mode: Mode
) -> int:
    """Rebuild the collection's state (full run, then each incremental's changes and
    deletes) and replace or merge it into the target table; returns the rows written.
    Runs in the caller's transaction."""
    latest = steps[-1].outcome
    table, ddl = latest.collection, latest.ddl
    if ddl is None:
        raise RestoreRefused(f"run {steps[-1].manifest.run_id} has no DDL for {table}")
    await check_types(connection, ddl)
    target_table = qualified(schema, table)
    columns = [c.name for c in ddl.columns]
    append_only = table in APPEND_ONLY_TABLES and schema == "public"
    if append_only and mode == "replace":
        raise RestoreRefused(f"{table} is append-only: restore it with merge (adds missing rows)")
    await run(connection, f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    new_table = await connection.fetchval("SELECT to_regclass($1) IS NULL", target_table)
    if len(steps) == 1 and mode == "replace":
        if new_table:
            await _load_new_table(connection, table, steps[0].rows, ddl, target_table, schema)
        else:
            await run(connection, ddl.create_statement(target_table))
            await run(connection, f"DELETE FROM {target_table}")
            await stage(connection, table, target_table, steps[0].rows, columns, schema)
        return latest.rows
    return await _replay(connection, steps, ddl, target_table, append_only, mode)


async def _load_new_table(
    connection: asyncpg.Connection,
    table: str,
    rows: VerifiedArtifact,
    ddl: CollectionDDL,
    target_table: str,
    schema: str,
) -> None:
    """A table this transaction creates, loaded as pg_restore loads one: the rows first
    (frozen: the table is new, so no later reader has to set hint bits or freeze them),
    then the primary key in one index build."""
    await run(connection, ddl.create_statement(target_table, with_key=False))
    columns = [c.name for c in ddl.columns]
    await stage(connection, table, target_table, rows, columns, schema, freeze=True)
    if ddl.primary_key:
        await run(connection, f"SET LOCAL maintenance_work_mem = '{INDEX_BUILD_MEMORY}'")
        await run(connection, ddl.key_statement(target_table))


async def _replay(
    connection: asyncpg.Connection,
    steps: list[Step],
    ddl: CollectionDDL,
    target_table: str,
    append_only: bool,
    mode: Mode,
) -> int:
    """The chain replayed in a temporary state table, then written into the target."""
    table = steps[-1].outcome.collection
    columns = [c.name for c in ddl.columns]
    column_list = ", ".join(quote(c) for c in columns)
    keys = ", ".join(quote(k) for k in ddl.primary_key)
    await run(connection, ddl.create_statement(target_table))
    state = quote("lookout_restore_state")
    await run(
        connection,
        f"CREATE TEMP TABLE {state} (LIKE {target_table} INCLUDING DEFAULTS) ON COMMIT DROP",
    )
    if ddl.primary_key:
        await run(connection, f"ALTER TABLE {state} ADD PRIMARY KEY ({keys})")
    upsert = ", ".join(
        f"{quote(c)} = EXCLUDED.{quote(c)}" for c in columns if c not in ddl.primary_key
    )
    update = f"DO UPDATE SET {upsert}" if upsert and not append_only else "DO NOTHING"
    conflict = f"ON CONFLICT ({keys}) {update}"
    for number, step in enumerate(steps):
        if step.outcome.mode == "full":
            await stage(connection, "lookout_restore_state", target_table, step.rows, columns)
            continue
        if step.keys is None:
            raise RestoreRefused(f"run {step.manifest.run_id} lists no keys of {table}")
        changes, present = f"lookout_restore_c{number}", f"lookout_restore_k{number}"
        await run(
            connection,
            f"CREATE TEMP TABLE {quote(changes)} (LIKE {target_table} INCLUDING DEFAULTS)"
            " ON COMMIT DROP",
        )
        await stage(connection, changes, target_table, step.rows, columns)
        await run(
            connection,
            f"INSERT INTO {state} ({column_list}) SELECT {column_list} FROM {quote(changes)} "
            + conflict,
        )
        await run(
            connection,
            f"CREATE TEMP TABLE {quote(present)} ON COMMIT DROP AS"
            f" SELECT {keys} FROM {state} WITH NO DATA",
        )
        await connection.copy_to_table(
            present,
            source=plaintext(step.keys),
            format="csv",
            header=True,
            columns=list(ddl.primary_key),
        )
        matches = " AND ".join(f"k.{quote(k)} = s.{quote(k)}" for k in ddl.primary_key)
        await run(  # rows deleted at the source since the previous run
            connection,
            f"DELETE FROM {state} AS s WHERE NOT EXISTS"
            f" (SELECT 1 FROM {quote(present)} AS k WHERE {matches})",
        )
    if mode == "replace":
        await run(connection, f"DELETE FROM {target_table}")
        inserted = await run(
            connection,
            f"INSERT INTO {target_table} ({column_list}) SELECT {column_list} FROM {state}",
        )
    else:
        if not ddl.primary_key:
            raise RestoreRefused(f"{table} has no primary key: merge needs one; use replace")
        inserted = await run(
            connection,
            f"INSERT INTO {target_table} ({column_list}) SELECT {column_list} FROM {state} "
            + conflict,
        )
    return int(inserted.rsplit(" ", 1)[1])
