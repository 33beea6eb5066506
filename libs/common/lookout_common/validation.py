"""Input types every API shares: what a client may send, said once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BeforeValidator


def _iso(value: object) -> object:
    """Only ISO 8601 text: pydantic would otherwise read 0 or "0.5" as a Unix time."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) < 10 or value[4:5] != "-":
        raise ValueError("must be an ISO 8601 date-time, e.g. 2026-03-01T00:00:00Z")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(_iso)]

# A bigserial id in a URL path: out-of-range numbers are a 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The row's id")]
