"""Backing up: every collection of a run from one consistent snapshot, streamed with
COPY through compression and encryption into the target, the manifest written last.

Memory stays flat whatever the table size: COPY hands over chunks, each is
compressed, encrypted and queued to the uploader through a small bounded queue.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Literal

import asyncpg

from lookout_backup.compression import SUFFIX, Compressor
from lookout_backup.crypto import Encryptor, Keyring, WrongKey
from lookout_backup.manifest import (
    MANIFEST,
    Artifact,
    CollectionDDL,
    CollectionOutcome,
    Column,
    Compression,
    Format,
    Manifest,
    seal,
)
from lookout_backup.names import (
    INTERNAL_TABLES,
    LOOKOUT_MARKER_TABLES,
    object_stem,
    qualified,
    quote,
)
from lookout_backup.targets import Target

QUEUE_DEPTH = 8  # chunks in flight between COPY and the upload: bounds memory


@dataclass
class BackupPlan:
    run_id: str
    collections: list[str] = field(default_factory=list)  # empty: every table in `public`
    format: Literal["csv", "json", "both"] = "csv"
    compression: Compression = "zstd"
    base: Manifest | None = None  # set: an incremental run on top of this one
    include_internal: bool = False  # Lookout's own tables too (--include-internal)


@dataclass(frozen=True)
class Progress:
    collection: str
    collections_done: int
    collections_total: int
    rows: int
    bytes: int


ProgressCallback = Callable[[Progress], Awaitable[None]]


class _Unescape:
    """COPY's text format doubles backslashes; JSON text has no other escaped byte."""

    def __init__(self) -> None:
        self._carry = b""

    def update(self, chunk: bytes) -> bytes:
        data = self._carry + chunk
        # Keep an odd trailing backslash for the next chunk: it may start a pair.
        trailing = len(data) - len(data.rstrip(b"\\"))
        self._carry = b"\\" if trailing % 2 else b""
        data = data[: len(data) - (trailing % 2)]
        return data.replace(b"\\\\", b"\\")


async def is_lookout_database(connection: asyncpg.Connection) -> bool:
    """Whether this is Lookout's own database (then its internal tables are fenced off)."""
    return bool(
        await connection.fetchval(
            "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL",
            *LOOKOUT_MARKER_TABLES,
        )
    )


async def list_collections(connection: asyncpg.Connection, *, include_internal: bool) -> list[str]:
    """Every ordinary or partitioned table of the `public` schema (Lookout's own tables
    only with `include_internal`)."""
    rows = await connection.fetch(
        """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY 1
        """
    )
    names = [row["relname"] for row in rows]
    if include_internal or not await is_lookout_database(connection):
        return names
    return [name for name in names if name not in INTERNAL_TABLES]


async def collection_ddl(connection: asyncpg.Connection, schema: str, table: str) -> CollectionDDL:
    oid = await connection.fetchval(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
        schema,
        table,
    )
    if oid is None:
        raise LookupError(f"table {schema}.{table} does not exist")
    columns = await connection.fetch(
        """
        SELECT attname, format_type(atttypid, atttypmod) AS type, NOT attnotnull AS nullable
        FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped
        ORDER BY attnum
        """,
        oid,
    )
    keys = await connection.fetch(
        """
        SELECT a.attname FROM pg_index i
        JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, position) ON true
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1 AND i.indisprimary ORDER BY k.position
        """,
        oid,
    )
    return CollectionDDL(
        columns=[
            Column(name=c["attname"], type=c["type"], nullable=c["nullable"]) for c in columns
        ],
        primary_key=[k["attname"] for k in keys],
    )


async def _export_artifact(
    connection: asyncpg.Connection,
    target: Target,
    plan: BackupPlan,
    table: str,
    fmt: Format,
    data_key: bytes | None,
    rows: int,
    select: str,
    args: tuple[object, ...] = (),
    kind: str = "rows",
) -> Artifact:
    """Stream `select` (a query over `table`) as one artifact of the run."""
    stem = object_stem(table)
    name = f"{stem}.keys" if kind == "keys" else stem
    key = f"{plan.run_id}/{name}.{fmt}{SUFFIX[plan.compression]}{'.enc' if data_key else ''}"
    compressor = Compressor(plan.compression)
    encryptor = Encryptor(data_key, key) if data_key else None
    unescape = _Unescape() if fmt == "json" else None
    plain = hashlib.sha256()
    plain_bytes = 0
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=QUEUE_DEPTH)

    async def chunks() -> AsyncIterator[bytes]:
        while (chunk := await queue.get()) is not None:
            yield chunk

    upload = asyncio.create_task(target.put_stream(key, chunks()))

    async def put(data: bytes | None) -> None:
        """Queue for the uploader; if the upload dies meanwhile, raise its error here."""
        waiting = asyncio.ensure_future(queue.put(data))
        await asyncio.wait({waiting, upload}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            waiting.cancel()
            upload.result()  # raises the upload's error (or reports it ended early)
            raise RuntimeError(f"upload of {key} ended before the data did")

    async def emit(data: bytes) -> None:
        if encryptor is not None:
            data = encryptor.update(data)
        if data:
            await put(data)

    async def sink(chunk: bytes) -> None:
        nonlocal plain_bytes
        if unescape is not None:
            chunk = unescape.update(chunk)
        plain.update(chunk)
        plain_bytes += len(chunk)
        await emit(compressor.update(chunk))

    try:
        if fmt == "csv":
            # A query rather than the table: partitioned tables cannot be copied directly.
            await connection.copy_from_query(select, *args, output=sink, format="csv", header=True)
        else:
            await connection.copy_from_query(
                f"SELECT row_to_json(t)::text FROM ({select}) AS t", *args, output=sink
            )
        tail = compressor.finish()
        if encryptor is not None:
            tail = encryptor.update(tail) + encryptor.finish()
        if tail:
            await put(tail)
        await put(None)
        stored = await upload
    except BaseException:
        upload.cancel()
        await asyncio.gather(upload, return_exceptions=True)
        raise
    return Artifact(
        collection=table,
        kind=kind,
        format=fmt,
        key=key,
        rows=rows,
        bytes=stored.bytes,
        plain_bytes=plain_bytes,
        sha256_plain=plain.hexdigest(),
        sha256_stored=stored.sha256,
        compression=plan.compression,
        encrypted=data_key is not None,
    )


WATERMARK_COLUMN = "updated_at"


async def table_fingerprint(connection: asyncpg.Connection, table: str) -> tuple[int, str]:
    """(rows, order-independent hash of every row's text) of `table`, a quoted
    qualified name: equal after a faithful restore."""
    row = await connection.fetchrow(
        "SELECT count(*) AS rows,"
        " coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text AS hash"
        f" FROM {table} AS t"
    )
    return row["rows"], row["hash"]


async def _export_collection(
    connection: asyncpg.Connection,
    target: Target,
    plan: BackupPlan,
    table: str,
    formats: list[Format],
    data_key: bytes | None,
    artifacts: list[Artifact],
) -> CollectionOutcome:
    """One collection: every row, or (incremental) the rows changed since the base run's
    watermark plus every primary key, so that deletes are replayed too."""
    ddl = await collection_ddl(connection, "public", table)
    source = qualified("public", table)
    has_watermark = any(c.name == WATERMARK_COLUMN for c in ddl.columns)
    watermark = (
        await connection.fetchval(f"SELECT max({quote(WATERMARK_COLUMN)}) FROM {source}")
        if has_watermark
        else None
    )
    base = plan.base.outcome(table) if plan.base is not None else None
    base_watermark = base.watermark if base is not None and base.ok else None
    incremental = base_watermark is not None and bool(ddl.primary_key)
    total, content_hash = await table_fingerprint(connection, source)
    if incremental:
        select = f"SELECT * FROM {source} WHERE {quote(WATERMARK_COLUMN)} > $1"
        args: tuple[object, ...] = (base_watermark,)
        rows = await connection.fetchval(f"SELECT count(*) FROM ({select}) AS t", *args)
    else:
        select, args = f"SELECT * FROM {source}", ()
        rows = total
    for fmt in formats:
        artifacts.append(
            await _export_artifact(
                connection, target, plan, table, fmt, data_key, rows, select, args
            )
        )
    if incremental:
        keys = ", ".join(quote(k) for k in ddl.primary_key)
        artifacts.append(
            await _export_artifact(
                connection,
                target,
                plan,
                table,
                "csv",
                data_key,
                total,
                f"SELECT {keys} FROM {source}",
                kind="keys",
            )
        )
    return CollectionOutcome(
        collection=table,
        ok=True,
        ddl=ddl,
        rows=rows,
        mode="changes" if incremental else "full",
        watermark=watermark,
        content_hash=content_hash,
    )


async def run_backup(
    source_dsn: str,
    target: Target,
    plan: BackupPlan,
    keyring: Keyring,
    progress: ProgressCallback | None = None,
) -> Manifest:
    """Export the plan's collections; one failing collection is recorded, not fatal.

    Raises when the target fails (then no manifest exists and the run is invalid), and
    WrongKey when there is no key and unauthenticated backups are not allowed.
    """
    data_key, wrapped, key_id = (None, None, None)
    if keyring.current is not None:
        data_key, wrapped, key_id = keyring.new_data_key()
    elif not keyring.allow_unauthenticated:
        raise WrongKey(
            "no backup key (LOOKOUT_BACKUP_KEY): set one, or allow unencrypted,"
            " unauthenticated backups with LOOKOUT_BACKUP_ALLOW_UNAUTHENTICATED=true"
        )
    formats: list[Format] = ["csv", "json"] if plan.format == "both" else [plan.format]
    outcomes: list[CollectionOutcome] = []
    artifacts: list[Artifact] = []
    total_rows = total_bytes = 0
    await target.ensure_marker()
    connection = await asyncpg.connect(source_dsn)
    try:
        # One snapshot for every collection of the run: REPEATABLE READ sees the database
        # as of its first statement, whatever commits during the export.
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            snapshot_time = await connection.fetchval("SELECT now()")
            collections = plan.collections or await list_collections(
                connection, include_internal=plan.include_internal
            )
            fenced = not plan.include_internal and await is_lookout_database(connection)
            for done, table in enumerate(collections, start=1):
                try:
                    if fenced and table in INTERNAL_TABLES:
                        raise LookupError(
                            f"{table} is one of Lookout's own tables: name it with"
                            " --include-internal to back it up"
                        )
                    written: list[Artifact] = []
                    async with connection.transaction():  # a savepoint per collection
                        outcome = await _export_collection(
                            connection, target, plan, table, formats, data_key, written
                        )
                    artifacts.extend(written)
                    outcomes.append(outcome)
                    total_rows += outcome.rows
                    total_bytes = sum(a.bytes for a in artifacts)
                except (LookupError, ValueError, asyncpg.PostgresError) as error:
                    reason = str(error).splitlines()[0]
                    outcomes.append(CollectionOutcome(collection=table, ok=False, error=reason))
                if progress is not None:
                    await progress(Progress(table, done, len(collections), total_rows, total_bytes))
    finally:
        await connection.close()
    manifest = Manifest(
        run_id=plan.run_id,
        type="incremental" if plan.base is not None else "full",
        base_run_id=plan.base.run_id if plan.base is not None else None,
        snapshot_time=snapshot_time,
        finished_at=datetime.now(UTC),
        lookout_version=version("lookout-backup-worker"),
        format=plan.format,
        compression=plan.compression,
        key_id=key_id,
        wrapped_data_key=wrapped,
        collections=outcomes,
        artifacts=artifacts,
    )
    # Written last: a run whose manifest is missing is invalid and gets pruned.
    await target.put_bytes(f"{plan.run_id}/{MANIFEST}", seal(manifest, keyring))
    return manifest.model_copy(
        update={"authentication": "hmac-sha256" if data_key is not None else "none"}
    )
