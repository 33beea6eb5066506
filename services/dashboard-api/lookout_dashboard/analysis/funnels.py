"""Funnels over people's events: how many people did steps 1..k in order within a conversion
window, and how long each step took them. Computed by one SQL statement over the raw events
of the steps' names (the `(event, occurred_at)` index), ordered by person and time.

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
from datetime import datetime, timedelta
from statistics import median
from typing import Annotated

import asyncpg
from pydantic import Field

from lookout_common.contracts.models import Camel

# Text without NUL (Postgres text cannot hold it); bounded like the events' own fields.
FilterText = Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")]
FilterKey = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
PropertyValue = FilterText | int | float | bool | None

# The person behind a raw event: its user id, else the user its anonymous id was linked to
# by `identify`, else the anonymous id. `ua` is user_analytics, `link` identity_links.
PERSON = "coalesce(ua.user_id, link.user_id, ua.anonymous_id)"
LINKED = (
    "LEFT JOIN identity_links AS link ON ua.user_id IS NULL AND link.anonymous_id = ua.anonymous_id"
)


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


def funnel_sql(steps: Sequence[FunnelStep]) -> str:
    """The statement for these steps: $1 from, $2 to, $3 to + window, $4 the steps' event
    names (step k at index k), $5 the window in microseconds, and, when a step has filters,
    $6 the steps' filters as JSON objects. Its shape depends only on how many steps there are
    and which carry filters; every value travels as a parameter.

    Greedy matching in windows: scanning each person's events from the last one back,
    `next{k}` holds, for every event, the earliest later event matching step k together with
    the times of the steps that the greedy match takes after it, as
    [its position, its time, the next steps' times...]. Positions count from the person's
    last event, so the earliest later event is the one with the highest position, and the
    earliest of equally deep starts too. One sort serves every window."""
    _check(steps)
    count = len(steps)
    marks = []
    for k, step in enumerate(steps, start=1):
        if any(_never_equal(value) for value in step.filters.values()):
            marks.append(f"false AS m{k}")  # NaN equals nothing, and no event holds infinity
            continue
        mark = f"ua.event = ($4::text[])[{k}]"
        if step.filters:
            mark += f" AND ua.properties @> ($6::jsonb[])[{k}]"
        marks.append(f"({mark}) AS m{k}")
    later = (
        "WINDOW later AS (PARTITION BY person ORDER BY at DESC, event_id DESC "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)"
    )
    levels = []
    source = "positioned"
    for k in range(count, 1, -1):
        carried = "ARRAY[position, us]" if k == count else f"ARRAY[position, us] || next{k + 1}[2:]"
        levels.append(
            f"chain{k} AS (SELECT *, max({carried}) FILTER (WHERE m{k}) OVER later AS next{k} "
            f"FROM {source} {later})"
        )
        source = f"chain{k}"
    # The chain's times only grow, so the steps within the window are a prefix of it.
    depth = " + ".join(
        ["1"] + [f"coalesce(next2[{k}] <= deadline, false)::int" for k in range(2, count + 1)]
    )
    chain = "next2[2:]" if count > 1 else "'{}'::bigint[]"
    levels_sql = "".join(f"{level},\n" for level in levels)
    return f"""
WITH step_events AS (
    SELECT {PERSON} AS person, ua.occurred_at AS at, ua.event_id, {", ".join(marks)}
    FROM user_analytics AS ua {LINKED}
    WHERE ua.event = ANY($4::text[]) AND ua.occurred_at >= $1 AND ua.occurred_at < $3
),
positioned AS (
    SELECT *, (extract(epoch FROM at) * 1000000)::bigint AS us,
           (extract(epoch FROM at) * 1000000)::bigint + $5::bigint AS deadline,
           row_number() OVER (PARTITION BY person ORDER BY at DESC, event_id DESC) AS position
    FROM step_events
),
{levels_sql}-- Per person: [steps reached, start position, time of step 1, 2, ...] of the deepest
-- path, the earliest start among equals; only step-1 events before `to` start one.
paths AS (
    SELECT max(ARRAY[{depth}, position, us] || {chain}) AS path
    FROM {source} WHERE m1 AND at < $2
    GROUP BY person
)
-- Per step: people who reached it and the two middle step times (microseconds).
SELECT step, count(*) AS people,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY path[step + 2] - path[step + 1]) AS lower,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY path[step + 2] - path[step + 1] DESC)
           AS upper
FROM paths, generate_series(1, path[1]) AS step
GROUP BY step ORDER BY step
"""


async def count_funnel(
    connection: asyncpg.Connection | asyncpg.Pool,
    steps: Sequence[FunnelStep],
    window: timedelta,
    start: datetime,
    end: datetime,
) -> list[FunnelStepResult]:
    """One row per step for people whose step 1 lies in [start, end): who reached it, the
    conversions and drop-off, the median step time."""
    _check(steps)
    if window <= timedelta(0):
        raise FunnelError("window: the conversion window must be positive")
    arguments: list[object] = [
        start,
        end,
        end + window,
        [step.event for step in steps],
        window // timedelta(microseconds=1),
    ]
    if any(step.filters for step in steps):
        arguments.append([step.filters for step in steps])
    rows = await connection.fetch(funnel_sql(steps), *arguments)
    reached = [0] * len(steps)
    medians: list[float | None] = [None] * len(steps)
    for row in rows:
        index = row["step"] - 1
        reached[index] = row["people"]
        if index:
            # The mean of the two middle times in seconds, as statistics.median takes it.
            medians[index] = median([row["lower"] / 1_000_000, row["upper"] / 1_000_000])
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


def _never_equal(value: PropertyValue) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _ratio(part: int, whole: int | None) -> float | None:
    return part / whole if whole else None


def _check(steps: Sequence[FunnelStep]) -> None:
    if not steps:
        raise FunnelError("steps: a funnel needs at least one step")
