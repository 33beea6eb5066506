"""Removing erased people's records from the funnels' packed step times (step_times,
migration 0019): dashboard-api's erasure removes the records of the raw events it deletes,
and the backup worker removes erased people's records after restoring the table."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

TABLE = "step_times"
RECORD_SIZE = 17  # lookout_step_record: person key (8 bytes), time (8), user id null (1)
KEY_SIZE = 8


def remove_statement(qualified_table: str) -> str:
    """Rewrites the rows of `qualified_table` (a quoted name of step_times or a restored
    copy) that hold a record starting with one of $1 (byte strings of one length: a person
    key, or a key and a time), and drops rows left empty; answers the records removed.
    Only rows holding one of those person keys are read, but finding them is a scan of the
    table: erasure is a rare admin operation."""
    return f"""
WITH prefixes AS (
    SELECT DISTINCT prefix FROM unnest($1::bytea[]) AS prefix
),
people AS (
    SELECT DISTINCT substr(prefix, 1, {KEY_SIZE}) AS person FROM prefixes
),
hit AS (
    SELECT s.ctid AS row_id, length(s.records) AS size,
           (SELECT coalesce(string_agg(substr(s.records, at, {RECORD_SIZE}), ''::bytea
                                       ORDER BY at), ''::bytea)
            FROM generate_series(1, length(s.records), {RECORD_SIZE}) AS at
            WHERE substr(s.records, at, (SELECT length(prefix) FROM prefixes LIMIT 1))
                  NOT IN (SELECT prefix FROM prefixes)) AS kept
    FROM {qualified_table} AS s
    WHERE EXISTS (SELECT FROM people WHERE position(people.person IN s.records) > 0)
),
emptied AS (
    DELETE FROM {qualified_table} AS s USING hit
    WHERE s.ctid = hit.row_id AND hit.kept = ''::bytea
),
rewritten AS (
    UPDATE {qualified_table} AS s SET records = hit.kept FROM hit
    WHERE s.ctid = hit.row_id AND hit.kept <> ''::bytea AND length(hit.kept) < hit.size
)
SELECT coalesce(sum(size - length(kept)), 0)::int8 / {RECORD_SIZE} FROM hit
"""


async def remove(
    connection: asyncpg.Connection, prefixes: Sequence[bytes], qualified_table: str = TABLE
) -> int:
    """Remove the records starting with one of `prefixes` (all of one length); how many."""
    if not prefixes:
        return 0
    return int(await connection.fetchval(remove_statement(qualified_table), list(prefixes)))


def ledger_keys(hashes: Sequence[str]) -> list[bytes]:
    """The person keys of the erasure ledger's hashes (sha256 in hex; a key is the first
    8 bytes of the same hash, lookout_person_key)."""
    return [bytes.fromhex(digest[: 2 * KEY_SIZE]) for digest in hashes]
