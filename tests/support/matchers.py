"""The Python funnel and journey matchers the dashboard used before it computed both in SQL,
kept as the reference the SQL is checked against (tests/unit/dashboard/test_funnels.py and
test_journeys.py pin them by hand; tests/integration/dashboard/test_funnel_journey_sql.py
compares them with the SQL on generated histories).

Funnels: a step matches an event with the step's name whose properties hold every filter (key
present, value equal; booleans never equal numbers, 1 equals 1.0). A person's events are taken
in the order given (callers sort by time, then event id); step k+1 must be a later event than
step k. Every step-1 event before `starts_before` is a candidate start; from it each next step
takes the earliest matching event after the previous one, at most `window` after the start. The
person's path is the candidate that reaches the most steps, the earliest among equals.

Journeys: each sequence (one session's steps in time order) has its consecutive repeats
collapsed; the first occurrence of the start step starts its path of at most `depth` steps.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import groupby
from statistics import median
from typing import NamedTuple

from lookout_dashboard.analysis.funnels import (
    FunnelError,
    FunnelStep,
    FunnelStepResult,
    PropertyValue,
)
from lookout_dashboard.analysis.journeys import EXIT, JourneyError, Journeys, rank_paths


class FunnelEvent(NamedTuple):
    timestamp: datetime
    event: str
    properties: Mapping[str, object]


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


def journeys(
    sequences: Iterable[Sequence[str]], start: str, *, depth: int = 4, top: int = 10
) -> Journeys:
    """The `top` most common paths from `start`, and every path's flow as a Sankey graph."""
    if start == EXIT:
        raise JourneyError(f"start: {EXIT!r} is reserved for where sequences end")
    paths: Counter[tuple[str, ...]] = Counter()
    for sequence in sequences:
        path = path_from(sequence, start, depth)
        if path is not None:
            paths[path] += 1
    return rank_paths(paths, start, depth=depth, top=top)


def path_from(sequence: Sequence[str], start: str, depth: int) -> tuple[str, ...] | None:
    """The first path from `start` in one sequence, repeats collapsed; None without `start`."""
    collapsed = [step for step, _ in groupby(sequence)]
    try:
        first = collapsed.index(start)
    except ValueError:
        return None
    path = tuple(collapsed[first : first + depth])
    if EXIT in path:
        raise JourneyError(f"sequences: the step {EXIT!r} is reserved for where sequences end")
    return path
