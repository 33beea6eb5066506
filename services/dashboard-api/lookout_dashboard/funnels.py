"""Funnels over people's events: how many people did steps 1..k in order within a conversion
window, and how long each step took them. A pure function over a bounded batch of events.

How a person is counted:
- A step matches an event with the step's event name whose properties hold every filter
  (the key is present and the value equal; booleans never equal numbers, 1 equals 1.0).
- A person's events are taken in time order (a stable sort: equal timestamps keep the order
  they were given in). Step k+1 must be a later event than the one that matched step k.
- Every step-1 event (before `starts_before`, when given) is a candidate start. From a start,
  each next step takes the earliest matching event after the previous one, as long as its
  timestamp is at most `window` after the start (inclusive). The person's path is the
  candidate that reaches the most steps; among equally deep candidates, the earliest start.
- Times between steps are measured along that path.

Conversions are fractions (0.25 means 25%), None when the base is 0 people.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from statistics import median
from typing import Annotated, NamedTuple

from pydantic import Field

from lookout_common.models import Camel

# Text without NUL (Postgres text cannot hold it); bounded like the events' own fields.
FilterText = Annotated[str, Field(max_length=1000, pattern=r"^[^\x00]*$")]
FilterKey = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
PropertyValue = FilterText | int | float | bool | None


class FunnelError(ValueError):
    """The funnel's definition cannot be evaluated; the message names the field."""


class FunnelStep(Camel):
    event: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z][^\x00]*$")]
    filters: dict[FilterKey, PropertyValue] = Field(
        default_factory=dict, description="Properties the event must carry, compared for equality"
    )


class FunnelEvent(NamedTuple):
    timestamp: datetime
    event: str
    properties: Mapping[str, object]


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


def funnel(
    people: Mapping[str, Sequence[FunnelEvent]],
    steps: Sequence[FunnelStep],
    window: timedelta,
    starts_before: datetime | None = None,
) -> list[FunnelStepResult]:
    """One row per step: who reached it, the conversions and drop-off, the median step time."""
    _check(steps, window)
    reached = [0] * len(steps)
    durations: list[list[float]] = [[] for _ in steps]
    for events in people.values():
        path = furthest_path(events, steps, window, starts_before)
        for index, timestamp in enumerate(path):
            reached[index] += 1
            if index:
                durations[index].append((timestamp - path[index - 1]).total_seconds())
    results = []
    for index, step in enumerate(steps):
        previous = reached[index - 1] if index else None
        results.append(
            FunnelStepResult(
                step=index + 1,
                event=step.event,
                people=reached[index],
                conversion_from_previous=_ratio(reached[index], previous),
                conversion_from_start=_ratio(reached[index], reached[0]),
                drop_off=0 if previous is None else previous - reached[index],
                median_seconds_from_previous=median(durations[index]) if durations[index] else None,
            )
        )
    return results


def furthest_path(
    events: Sequence[FunnelEvent],
    steps: Sequence[FunnelStep],
    window: timedelta,
    starts_before: datetime | None = None,
) -> list[datetime]:
    """Timestamps of the steps one person reached along their deepest path ([] if none)."""
    _check(steps, window)
    ordered = sorted(events, key=lambda event: event.timestamp)
    best: list[datetime] = []
    for start, first in enumerate(ordered):
        if starts_before is not None and first.timestamp >= starts_before:
            break  # ordered: no later event may start a path
        if not _matches(first, steps[0]):
            continue
        path = [first.timestamp]
        deadline = first.timestamp + window
        position = start + 1
        while len(path) < len(steps) and position < len(ordered):
            candidate = ordered[position]
            if candidate.timestamp > deadline:
                break
            if _matches(candidate, steps[len(path)]):
                path.append(candidate.timestamp)
            position += 1
        if len(path) > len(best):
            best = path
            if len(best) == len(steps):
                break
    return best


def _matches(event: FunnelEvent, step: FunnelStep) -> bool:
    if event.event != step.event:
        return False
    missing = object()
    for key, expected in step.filters.items():
        actual = event.properties.get(key, missing)
        if actual is missing or not _equal(actual, expected):
            return False
    return True


def _equal(actual: object, expected: PropertyValue) -> bool:
    # In Python True == 1; in event properties a flag and a count are different things.
    if isinstance(actual, bool) != isinstance(expected, bool):
        return False
    return actual == expected


def _ratio(part: int, whole: int | None) -> float | None:
    return part / whole if whole else None


def _check(steps: Sequence[FunnelStep], window: timedelta) -> None:
    if not steps:
        raise FunnelError("steps: a funnel needs at least one step")
    if window <= timedelta(0):
        raise FunnelError("window: the conversion window must be positive")
