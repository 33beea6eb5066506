"""Where a person's data lives, and the ledger of erased people (sha256 of each id) that
keeps them erased: dashboard-api's erasure writes it in its transaction, and the backup
worker re-applies it after restoring any of these tables.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class PersonalTable:
    """A table holding people's data: the columns that hold a person's id, and an
    extra condition a row must meet to be a person's (None: every row)."""

    table: str
    columns: tuple[str, ...]
    only: str | None = None

    def condition(self, match: str) -> str:
        """`match` (a format with {column}) over every id column, within `only`."""
        ids = " OR ".join(match.format(column=column) for column in self.columns)
        return f"({self.only}) AND ({ids})" if self.only else ids


PERSONAL_TABLES: tuple[PersonalTable, ...] = (
    PersonalTable("user_analytics", ("user_id", "anonymous_id")),
    PersonalTable("analytics_people", ("actor",)),
    PersonalTable("active_periods", ("actor",)),
    PersonalTable("person_events", ("actor",)),
    PersonalTable("experiment_exposures", ("actor",)),
    PersonalTable("page_visitors", ("actor",)),
    PersonalTable("rollup_distinct", ("member",), only="kind = 'actor'"),
    PersonalTable("user_traits", ("user_id",)),
    PersonalTable("identity_links", ("anonymous_id", "user_id")),
)
BY_NAME = {table.table: table for table in PERSONAL_TABLES}

# The same hash in SQL and in Python: sha256 of the id's UTF-8 bytes, in hex.
_SQL_HASH = "encode(sha256(convert_to({column}, 'UTF8')), 'hex')"


def subject_hash(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()


async def record(connection: asyncpg.Connection, identities: Sequence[str]) -> None:
    """Add the hashes of `identities` to the ledger (call inside the erasure's transaction)."""
    await connection.execute(
        "INSERT INTO erasure_ledger (subject_hash) SELECT unnest($1::text[])"
        " ON CONFLICT (subject_hash) DO NOTHING",
        [subject_hash(identity) for identity in identities],
    )


async def hashes(connection: asyncpg.Connection | asyncpg.Pool) -> list[str]:
    return [
        row["subject_hash"]
        for row in await connection.fetch("SELECT subject_hash FROM erasure_ledger")
    ]


def reapply_statement(table: PersonalTable, qualified_name: str) -> str:
    """DELETE of the rows of erased people from `qualified_name` (a quoted name of a
    restored copy of `table`); $1 is the ledger's hashes."""
    hashed = _SQL_HASH + " = ANY($1::text[])"
    return f"DELETE FROM {qualified_name} WHERE {table.condition(hashed)}"
