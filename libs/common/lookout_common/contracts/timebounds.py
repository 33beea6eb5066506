"""The timestamps Lookout accepts for an event, shared by ingest (an item error) and the
aggregator (a dead letter, never a day partition created for it).

The oldest accepted instant is the raw-event retention when it is set (an older event
would recreate a day partition retention has dropped), or a separate maximum age,
whichever is nearer; with neither, three years. Comparing aware datetimes never
overflows, so these checks are safe on any instant a parser produced, even one whose
conversion to UTC would not fit in a `datetime` (0001-01-01T00:30+01:00).
"""

from __future__ import annotations

from datetime import datetime, timedelta

DEFAULT_MAX_AGE_DAYS = 1095  # three years, when neither retention nor a maximum age is set
# How far ahead of this host's clock an event may be (ingest clamps every future client
# timestamp to its receive time; this leaves room for other producers and clock drift).
FUTURE_SLACK = timedelta(days=1)


def oldest_accepted(
    now: datetime, retention_days: int | None, max_age_days: int | None
) -> datetime:
    """The oldest timestamp accepted at `now`: the nearer of the retention and the maximum
    age (either may be unset), three years when both are."""
    limits = [days for days in (retention_days, max_age_days) if days]
    return now - timedelta(days=min(limits) if limits else DEFAULT_MAX_AGE_DAYS)


def latest_accepted(now: datetime) -> datetime:
    """The latest timestamp accepted at `now` (a producer's clock may run a little ahead)."""
    return now + FUTURE_SLACK


def within_bounds(
    timestamp: datetime, now: datetime, retention_days: int | None, max_age_days: int | None
) -> bool:
    """True when `timestamp` (aware) lies in [oldest_accepted, latest_accepted]."""
    return oldest_accepted(now, retention_days, max_age_days) <= timestamp <= latest_accepted(now)
