"""The rollup families of the batch statement, one module each.

A family is a `Fragment`: named common table expressions that read `new` (the batch's
events not stored before, see `store.py`) and upsert one or more tables. `store.py`
joins every family in `FAMILIES` into the two statements a batch is written with, in one
transaction, so a family is exactly-once with the raw rows for free:

- `sql`, in the first statement: rows of the batch's own people (per-person state,
  memberships). Events are keyed by person, so replicas never share these rows.
- `shared`, in the second statement: rows every replica adds to (counts per minute,
  path, term...). They are locked from that short statement to the commit only, so
  replicas do not queue behind each other's whole batch. `new` there is the first
  statement's new events, staged in a temporary table.

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
    """One rollup family: `sql` and `shared` are `name AS (...)` CTEs separated by commas
    (either may be empty), for the per-person and the shared statement."""

    family: str
    sql: str = ""
    shared: str = ""


def literal(value: str) -> str:
    """A constant of ours (an event name, a bin name) as an SQL string literal.

    Only for names defined in code: record values reach Postgres as parameters."""
    return "'" + value.replace("'", "''") + "'"


def names(*values: str) -> str:
    """Constants as a parenthesised list of literals, for `IN`."""
    return "(" + ", ".join(literal(value) for value in values) + ")"


# Buckets are binned from a UTC origin, so they do not depend on the session's time zone.
UTC_ORIGIN = "'2000-01-01 00:00:00+00'"
