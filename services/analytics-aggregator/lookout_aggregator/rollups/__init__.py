"""The rollup families of the batch statement, one module each.

A family is a `Fragment`: named common table expressions that read `new` (the batch's
events not stored before, see `store.py`) and upsert one or more tables. `store.py`
joins every family in `FAMILIES` into the one statement a batch is written with, so a
family is exactly-once with the raw rows for free.

Rules for a fragment: read only `new` (or an earlier CTE of the same fragment); write
with `ON CONFLICT` adding deltas (or keeping the first value), so a batch and its
redelivery compose; insert keys in `ORDER BY` key order, so concurrent replicas lock
rows in the same order and cannot deadlock; take event names from `EventType` through
`literal`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fragment:
    """One rollup family: `sql` is `name AS (...)` CTEs separated by commas."""

    family: str
    sql: str


def literal(value: str) -> str:
    """A constant of ours (an event name, a bin name) as an SQL string literal.

    Only for names defined in code: record values reach Postgres as parameters."""
    return "'" + value.replace("'", "''") + "'"


def names(*values: str) -> str:
    """Constants as a parenthesised list of literals, for `IN`."""
    return "(" + ", ".join(literal(value) for value in values) + ")"


# Buckets are binned from a UTC origin, so they do not depend on the session's time zone.
UTC_ORIGIN = "'2000-01-01 00:00:00+00'"
