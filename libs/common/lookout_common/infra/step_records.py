"""Removing erased people's records from the funnels' packed step times (step_times,
migration 0019): dashboard-api's erasure removes the records of the raw events it deletes,
and the backup worker removes erased people's records after restoring the table."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

TABLE = "step_times"
RECORD_SIZE = 17  # lookout_step_record: person key (8 bytes), time (8), user id null (1)
KEY_SIZE = 8


async def remove(
    connection: asyncpg.Connection, prefixes: Sequence[bytes], qualified_table: str = TABLE
) -> int:
    """Remove the records starting with one of `prefixes` (byte strings of one length: a
    person key, or a key and a time) from `qualified_table` (a quoted name of step_times or
    a restored copy), rewriting the rows that hold them and deleting rows left empty; how
    many records went. Call inside a transaction. Postgres finds the rows holding one of
    the person keys (a scan of the table: erasure is a rare admin operation); Python cuts
    the records out of them, at the speed of a byte search rather than of a row per record
    (22 s for one person over 10 M records in SQL, which splits every row it touches)."""
    if not prefixes:
        return 0
    wanted = set(prefixes)
    keys = sorted({prefix[:KEY_SIZE] for prefix in wanted})
    rows = await connection.fetch(
        f"SELECT ctid, records FROM {qualified_table} WHERE EXISTS ("
        " SELECT FROM unnest($1::bytea[]) AS key WHERE position(key IN records) > 0"
        ") FOR UPDATE",
        keys,
    )
    removed, rewritten, emptied = 0, [], []
    for row in rows:
        kept = without(row["records"], keys, wanted)
        if kept is None:
            continue  # a key's bytes across two records, not a record of theirs
        removed += (len(row["records"]) - len(kept)) // RECORD_SIZE
        if kept:
            rewritten.append((row["ctid"], kept))
        else:
            emptied.append((row["ctid"],))
    if rewritten:
        await connection.executemany(
            f"UPDATE {qualified_table} SET records = $2 WHERE ctid = $1", rewritten
        )
    if emptied:
        await connection.executemany(f"DELETE FROM {qualified_table} WHERE ctid = $1", emptied)
    return removed


def without(records: bytes, keys: Sequence[bytes], wanted: set[bytes]) -> bytes | None:
    """`records` without the records that start with one of `wanted` (each starting with
    one of `keys`); None when there is none."""
    size = len(next(iter(wanted)))
    cuts = []
    for key in keys:
        at = records.find(key)
        while at >= 0:
            if at % RECORD_SIZE == 0 and records[at : at + size] in wanted:
                cuts.append(at)
            at = records.find(key, at + 1)
    if not cuts:
        return None
    pieces, start = [], 0
    for at in sorted(cuts):
        pieces.append(records[start:at])
        start = at + RECORD_SIZE
    pieces.append(records[start:])
    return b"".join(pieces)


def ledger_keys(hashes: Sequence[str]) -> list[bytes]:
    """The person keys of the erasure ledger's hashes (sha256 in hex; a key is the first
    8 bytes of the same hash, lookout_person_key)."""
    return [bytes.fromhex(digest[: 2 * KEY_SIZE]) for digest in hashes]
