"""Input types every API shares: what a client may send, said once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BeforeValidator

# Instants Lookout stores or compares: from the Unix epoch to well before datetime's end
# (a year-1 instant is Postgres's -infinity to asyncpg, a year-9999 one overflows when
# shifted to a zone).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 1, 1, tzinfo=UTC)


def _iso(value: object) -> object:
    """Only ISO 8601 text: pydantic would otherwise read 0 or "0.5" as a Unix time."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) < 10 or value[4:5] != "-":
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-03-01T00:00:00Z")
    return value


def _bounded(value: datetime) -> datetime:
    """Aware (no offset = UTC) and between the years 1970 and 9998."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        inside = EARLIEST <= value < LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise ValueError("must lie between the years 1970 and 9998")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso), AfterValidator(_bounded)]

# A bigserial id in a URL path: out-of-range numbers are a 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The row's id")]
