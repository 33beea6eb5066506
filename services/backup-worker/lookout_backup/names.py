"""Names read from a manifest, a command or the catalog, made safe for SQL, object keys
and file names: one quoting function for every identifier, and the shapes a run id, a
table name and a column type may have.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# What `new_run_id` makes: the UTC start time, the operation and 6 random hex digits.
RUN_ID = re.compile(r"\d{8}T\d{6}Z-(?:backup|restore|verify|prune)-[0-9a-f]{6}")
# Any run id a manifest may carry (tests and older runs use other shapes): never a
# path separator, never a dot, so it is safe in object keys and file names.
SAFE_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}")
# Lookout's own tables: never part of a product backup or restore unless named with
# --include-internal, when the database is Lookout's (see `is_lookout_database`).
INTERNAL_TABLES = frozenset(
    {
        "api_keys",
        "audit_log",
        "schema_migrations",
        "event_ids",
        "erasure_ledger",
        "backup_logs",
        "backup_metadata",
        "backup_schedules",
        "backup_seeds",
    }
)
# Tables whose rows are never replaced: a restore may only add missing entries (an
# older erasure ledger must not forget people erased since).
APPEND_ONLY_TABLES = frozenset({"audit_log", "erasure_ledger"})
# A database is Lookout's own when it holds both of these.
LOOKOUT_MARKER_TABLES = ("public.schema_migrations", "public.backup_logs")

# A table whose name is a plain identifier keeps it in object keys; others are hashed.
_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")

# The shapes format_type() prints: an optionally schema-qualified type name (plain or
# quoted without quotes inside), a few multi-word names, a type modifier, array brackets.
_NAME = r'(?:[a-z_][a-z0-9_$]*|"[^"\x00]{1,63}")'
_TYPE = re.compile(
    rf"(?:{_NAME}\.)?"
    r"(?:double precision|character varying|bit varying"
    r"|(?:timestamp|time)(?:\(\d\))? with(?:out)? time zone"
    r"|interval(?: (?:year|month|day|hour|minute|second)(?: to (?:month|hour|minute|second))?)?"
    rf"|{_NAME})"
    r"(?:\(\d{1,4}(?:,\d{1,4})?\))?"
    r"(?:\[\])*"
)


def quote(name: str) -> str:
    """An SQL identifier: `name` in double quotes, its own double quotes doubled."""
    if not name or "\x00" in name:
        raise ValueError("an identifier is never empty and never holds NUL")
    return '"' + name.replace('"', '""') + '"'


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def _column_type(value: str) -> str:
    if not _TYPE.fullmatch(value):
        raise ValueError(f"column type {value[:80]!r} is not a type name format_type() prints")
    return value


def _run_id(value: str) -> str:
    if not SAFE_RUN_ID.fullmatch(value):
        raise ValueError(f"run id {value[:80]!r} has characters a run id never has")
    return value


# A name Postgres accepts (at most 63 bytes, no NUL); quoted wherever it is used.
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[^\x00]+$")]
ColumnType = Annotated[str, StringConstraints(max_length=200), AfterValidator(_column_type)]
RunId = Annotated[str, AfterValidator(_run_id)]


def is_run_id(name: str) -> bool:
    """A name prune may touch: exactly what `new_run_id` makes for a backup."""
    return bool(RUN_ID.fullmatch(name))


def object_stem(table: str) -> str:
    """The table's name in object keys and scratch files: itself when it is a plain
    identifier, else a hash of it (a table may be called `../x` or `a/b`)."""
    if _PLAIN.fullmatch(table):
        return table
    return "t-" + hashlib.sha256(table.encode()).hexdigest()[:16]
