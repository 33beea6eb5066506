"""Funnels over people's events: how many people did steps 1..k in order within a conversion
window, and how long each step took them; `funnel_paths.py` matches every person at once
with array operations.

Where the step events come from:
- Steps without property filters: the step times the aggregator keeps (step_times,
  migration 0019: per event name and UTC day, 17 bytes an event with the person's key and
  the time), read as a few rows a day; anonymous records are followed to their user
  through identity_links' keys here, at query time, so a later identify counts.
- Steps with property filters (the records hold no properties), and any funnel where two of
  a person's step events share a time (only the raw rows' event ids order them): one SQL
  statement reads the raw events of the steps' names (the `(event, occurred_at)` index),
  marks which steps each matches and hands them over packed as one byte string a person.

How a person is counted:
- A step matches an event with the step's event name whose properties hold every filter
  (the key is present and the value equal, compared as JSON: booleans never equal numbers,
  1 equals 1.0, numbers compare as exact decimals).
- A person's events are taken in time order, equal timestamps by event id. Step k+1 must be
  a later event than the one that matched step k.
- Every step-1 event in [from, to) is a candidate start. From a start, each next step takes
  the earliest matching event after the previous one, as long as its timestamp is at most
  `window` after the start (inclusive); events up to `to + window` may complete a path. The
  person's path is the candidate that reaches the most steps; among equally deep candidates,
  the earliest start.
- Times between steps are measured along that path.

Conversions are fractions (0.25 means 25%), None when the base is 0 people.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Annotated

import asyncpg
from pydantic import Field

from lookout_common.contracts.models import Camel
from lookout_dashboard.analysis.funnel_paths import (
    RECORD,
    Int64s,
    Paths,
    furthest_paths,
    match,
    stored_events,
)

# Text without NUL (Postgres text cannot hold it); bounded like the events' own fields.
FilterText = Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")]
FilterKey = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
PropertyValue = FilterText | int | float | bool | None

# The person behind a raw event: its user id, else the user its anonymous id was linked to
# by `identify`, else the anonymous id. `ua` is user_analytics, `link` identity_links.
# Most step events one funnel matches (12 bytes each as read, about 50 while matched): 30
# days of 10 M events a month are 1.65 M.
MAX_STEP_EVENTS = 5_000_000
# Postgres sends a timestamptz as microseconds since this instant.
POSTGRES_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)

PERSON = "coalesce(ua.user_id, link.user_id, ua.anonymous_id)"
LINKED = (
    "LEFT JOIN identity_links AS link ON ua.user_id IS NULL AND link.anonymous_id = ua.anonymous_id"
)


# The stored records of the steps' event names for the UTC days of a range (step_times,
# written by the aggregator with the raw rows), and identity_links as person-key pairs.
STORED_STEPS = """
SELECT event, records FROM step_times
WHERE event = ANY($1::text[]) AND day >= $2::date AND day <= $3::date
ORDER BY day, chunk
"""
LINK_KEYS = """
SELECT string_agg(lookout_person_key(anonymous_id) || lookout_person_key(user_id), ''::bytea)
FROM identity_links
"""


class FunnelError(ValueError):
    """The funnel's definition cannot be evaluated; the message names the field."""


class FunnelStep(Camel):
    event: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z][^\x00]*$")]
    filters: dict[FilterKey, PropertyValue] = Field(
        default_factory=dict, description="Properties the event must carry, compared for equality"
    )


class FunnelStepResult(Camel):
    step: int = Field(description="1 for the funnel's first step")
    event: str
    people: int = Field(description="People who did this step and every one before it, in order")
    conversion_from_previous: float | None = Field(
        description="people / people at the previous step; None for step 1 or when that is 0"
    )
    conversion_from_start: float | None = Field(
        description="people / people at step 1; None when that is 0"
    )
    drop_off: int = Field(description="People at the previous step who did not reach this one")
    median_seconds_from_previous: float | None = Field(
        description="Median time from the previous step; None for step 1 or without people"
    )


def funnel_sql(steps: Sequence[FunnelStep], *, ordered: bool = False) -> str:
    """The statement for these steps: $1 from, $2 to + window, $3 the steps' event names
    (step k at index k), and, when a step has filters, $4 the steps' filters as JSON objects.
    Its shape depends only on how many steps there are and which carry filters; every value
    travels as a parameter. It answers one row per person: their step events of the range as
    one byte string of `funnel_paths.RECORD`s, in no order or, when `ordered`, in time order
    (equal times by event id); events that match no step are left out."""
    _check(steps)
    marks = []
    for k, step in enumerate(steps, start=1):
        if any(_never_equal(value) for value in step.filters.values()):
            continue  # NaN equals nothing, and no event holds infinity
        mark = f"ua.event = ($3::text[])[{k}]"
        if step.filters:
            mark += f" AND ua.properties @> ($4::jsonb[])[{k}]"
        marks.append(f"CASE WHEN {mark} THEN {1 << (k - 1)} ELSE 0 END")
    mask = " | ".join(marks) or "0"
    return f"""
SELECT string_agg(timestamptz_send(at) || int4send(marks),
                  ''{" ORDER BY at, event_id" if ordered else ""}) AS events
FROM (
    SELECT ({PERSON}) COLLATE "C" AS person, ua.occurred_at AS at, ua.event_id, {mask} AS marks
    FROM user_analytics AS ua {LINKED}
    WHERE ua.event = ANY($3::text[]) AND ua.occurred_at >= $1 AND ua.occurred_at < $2
) AS step_events
WHERE marks <> 0
GROUP BY person
"""


async def count_funnel(
    connection: asyncpg.Connection | asyncpg.Pool,
    steps: Sequence[FunnelStep],
    window: timedelta,
    start: datetime,
    end: datetime,
    *,
    max_step_events: int = MAX_STEP_EVENTS,
) -> list[FunnelStepResult]:
    """One row per step for people whose step 1 lies in [start, end): who reached it, the
    conversions and drop-off, the median step time. More than `max_step_events` step events
    in the range are refused (FunnelError): they would be matched in this process's memory."""
    _check(steps)
    if window <= timedelta(0):
        raise FunnelError("window: the conversion window must be positive")
    stored = not any(step.filters for step in steps)  # the records hold no properties
    paths = None
    if stored:
        paths = await _stored_paths(connection, steps, window, start, end, max_step_events)
    if paths is None:
        # Filters, or equal times: only the raw rows' event ids order those, so after the
        # store found them the raw rows are read in that order at once.
        rounds = (True,) if stored else (False, True)
        paths = await _raw_paths(connection, steps, window, start, end, max_step_events, rounds)
    reached = paths.reached
    medians = [_median_seconds(times) for times in paths.step_times]
    return [
        FunnelStepResult(
            step=index + 1,
            event=step.event,
            people=reached[index],
            conversion_from_previous=_ratio(reached[index], reached[index - 1] if index else None),
            conversion_from_start=_ratio(reached[index], reached[0]),
            drop_off=reached[index - 1] - reached[index] if index else 0,
            median_seconds_from_previous=medians[index],
        )
        for index, step in enumerate(steps)
    ]


async def _raw_paths(
    connection: asyncpg.Connection | asyncpg.Pool,
    steps: Sequence[FunnelStep],
    window: timedelta,
    start: datetime,
    end: datetime,
    max_step_events: int,
    rounds: tuple[bool, ...],
) -> Paths:
    """The paths from the raw rows: unordered first when `rounds` starts so (cheaper), then
    ordered by time and event id in SQL if two of a person's step events share a time."""
    arguments: list[object] = [start, end + window, [step.event for step in steps]]
    if any(step.filters for step in steps):
        arguments.append([step.filters for step in steps])
    window_us, to_us = _microseconds(window), _microseconds(end - POSTGRES_EPOCH)
    for ordered in rounds:
        people = await connection.fetch(funnel_sql(steps, ordered=ordered), *arguments)
        packed = [row[0] for row in people]
        _check_size(sum(map(len, packed)) // RECORD.itemsize, max_step_events)
        paths = furthest_paths(packed, len(steps), window_us, to_us, ordered=ordered)
        if paths is not None:
            return paths
    raise AssertionError("ordered events always match")


async def _stored_paths(
    connection: asyncpg.Connection | asyncpg.Pool,
    steps: Sequence[FunnelStep],
    window: timedelta,
    start: datetime,
    end: datetime,
    max_step_events: int,
) -> Paths | None:
    """The paths from the aggregator's stored records (funnels without property filters:
    the records hold no properties); None when two of a person's step events share a time."""
    names = [step.event for step in steps]
    bits = {name: sum(1 << k for k, step in enumerate(names) if step == name) for name in names}
    until = end + window
    links = await connection.fetchval(LINK_KEYS) or b""
    rows = await connection.fetch(
        STORED_STEPS, sorted(bits), start.astimezone(UTC).date(), until.astimezone(UTC).date()
    )
    person, times, marks = stored_events(
        [(bits[row["event"]], row["records"]) for row in rows],
        links,
        _microseconds(start - POSTGRES_EPOCH),
        _microseconds(until - POSTGRES_EPOCH),
    )
    _check_size(len(times), max_step_events)
    return match(
        person,
        times,
        marks,
        len(steps),
        _microseconds(window),
        _microseconds(end - POSTGRES_EPOCH),
        ordered=False,
    )


def _check_size(step_events: int, max_step_events: int) -> None:
    if step_events > max_step_events:
        raise FunnelError(
            f"from: more than {max_step_events:,} step events in the range and window; "
            "narrow the time range"
        )


def _microseconds(span: timedelta) -> int:
    return span // timedelta(microseconds=1)


def _median_seconds(step_times: Int64s) -> float | None:
    """The median of sorted step times in seconds (the mean of the two middle ones), as
    statistics.median takes it; None without any."""
    if not len(step_times):
        return None
    middle = len(step_times) // 2
    lower, upper = step_times[(len(step_times) - 1) // 2], step_times[middle]
    return median([int(lower) / 1_000_000, int(upper) / 1_000_000])


def _never_equal(value: PropertyValue) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _ratio(part: int, whole: int | None) -> float | None:
    return part / whole if whole else None


def _check(steps: Sequence[FunnelStep]) -> None:
    if not steps:
        raise FunnelError("steps: a funnel needs at least one step")
