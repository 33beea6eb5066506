"""The time range of an analytics answer: its query parameters, how a request's range is
resolved (defaults, UTC, a bounded length) and the models in which an answer states it.

A rollup bucket counts when its start lies in [from, to): ranges apply at the
resolution of the table read (minute, 15 minutes, UTC hour or local day)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Query
from pydantic import Field

from lookout_common.contracts.models import Camel
from lookout_common.contracts.validation import IsoDatetime


class Granularity(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


# The longest range each granularity may cover: bounded answers, bounded work.
MAX_RANGE = {
    Granularity.MINUTE: timedelta(days=2),
    Granularity.HOUR: timedelta(days=92),
    Granularity.DAY: timedelta(days=2 * 366),
}

Instant = IsoDatetime
From = Annotated[
    Instant | None, Query(alias="from", description="Start, ISO 8601 (default: to - 24 h)")
]
To = Annotated[Instant | None, Query(alias="to", description="End, exclusive (default: now)")]
Gran = Annotated[Granularity, Query(description="Bucket size")]


class Range(Camel):
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    granularity: Granularity
    timezone: str


class Span(Camel):
    start: datetime = Field(alias="from", description="Start of the range (UTC)")
    end: datetime = Field(alias="to", description="End of the range, exclusive (UTC)")
    timezone: str = Field(description="LOOKOUT_TIMEZONE, which names local days")


def resolve_range(
    start: datetime | None, end: datetime | None, granularity: Granularity
) -> tuple[datetime, datetime]:
    """[from, to) as UTC instants (default: the last 24 h); 422 when inverted or too long."""
    return resolve_bounded(start, end, MAX_RANGE[granularity], f"a {granularity.value} series")


def resolve_bounded(
    start: datetime | None, end: datetime | None, longest: timedelta, what: str
) -> tuple[datetime, datetime]:
    """[from, to) as UTC instants, at most `longest` apart; the 422 names `what`."""
    # IsoDatetime made both aware and kept them between 1970 and 9998.
    end = end.astimezone(UTC) if end else datetime.now(UTC)
    start = start.astimezone(UTC) if start else end - timedelta(hours=24)
    if start >= end:
        raise HTTPException(422, "from must be before to")
    if end - start > longest:
        raise HTTPException(422, f"{what} covers at most {longest.days} days")
    return start, end


def local_days(start: datetime, end: datetime, zone: str) -> tuple[date, date]:
    """The first and last local day (in `zone`) that [start, end) touches."""
    local = ZoneInfo(zone)
    last = end - timedelta(microseconds=1)
    return start.astimezone(local).date(), last.astimezone(local).date()
