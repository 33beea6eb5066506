"""Journeys: where people go after a start step, as the most common paths and as a Sankey
diagram's nodes and links. A pure function over a bounded batch of sequences.

How a path is taken:
- Each sequence is one session (or one person's history, if the caller has no sessions), its
  steps in time order, e.g. "page:/search" or "event:booking_attempt".
- Consecutive repeats of a step count once ("a a b a" is "a b a").
- Only the first occurrence of the start step in a sequence starts a path, so every sequence
  counts at most once. The path is that step and the steps after it, at most `depth` in all.
- Levels are 1-based: the start is level 1. A path shorter than `depth` ended with its
  sequence, and gets a link to an "(exit)" node at the next level; a path of full length
  was cut at `depth` and gets none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import groupby, pairwise

from pydantic import Field

from lookout_common.models import Camel

EXIT = "(exit)"
DEFAULT_DEPTH = 4
DEFAULT_TOP = 10


class JourneyError(ValueError):
    """The journey query cannot be answered; the message names the field."""


class JourneyPath(Camel):
    steps: list[str]
    count: int = Field(description="Sequences whose path from the start is exactly these steps")


class JourneyNode(Camel):
    id: str = Field(description='"<level>:<step>", unique')
    level: int = Field(description="1 for the start step")
    step: str = Field(description='The step, or "(exit)" where sequences ended')
    value: int = Field(description="Sequences through this node")


class JourneyLink(Camel):
    source: str = Field(description="Node id at one level")
    target: str = Field(description="Node id at the next level")
    value: int


class Journeys(Camel):
    start: str
    depth: int
    sequences: int = Field(description="Sequences that contain the start step")
    paths: list[JourneyPath] = Field(description="Most common first; ties in step order")
    nodes: list[JourneyNode] = Field(description="By level, then busiest first, then by step")
    links: list[JourneyLink] = Field(description="By level, then busiest first, then by ids")


def journeys(
    sequences: Iterable[Sequence[str]],
    start: str,
    *,
    depth: int = DEFAULT_DEPTH,
    top: int = DEFAULT_TOP,
) -> Journeys:
    """The `top` most common paths from `start`, and every path's flow as a Sankey graph."""
    if depth < 1:
        raise JourneyError("depth: must be at least 1")
    if top < 1:
        raise JourneyError("top: must be at least 1")
    if start == EXIT:
        raise JourneyError(f"start: {EXIT!r} is reserved for where sequences end")
    paths: Counter[tuple[str, ...]] = Counter()
    for sequence in sequences:
        path = path_from(sequence, start, depth)
        if path is not None:
            paths[path] += 1

    nodes: Counter[tuple[int, str]] = Counter()
    links: Counter[tuple[tuple[int, str], tuple[int, str]]] = Counter()
    for path, count in paths.items():
        levels = list(enumerate(path, start=1))
        if len(path) < depth:
            levels.append((len(path) + 1, EXIT))
        for node in levels:
            nodes[node] += count
        for source, target in pairwise(levels):
            links[source, target] += count

    ranked = sorted(paths.items(), key=lambda item: (-item[1], item[0]))
    return Journeys(
        start=start,
        depth=depth,
        sequences=sum(paths.values()),
        paths=[JourneyPath(steps=list(path), count=count) for path, count in ranked[:top]],
        nodes=[
            JourneyNode(id=_node_id(node), level=node[0], step=node[1], value=value)
            for node, value in sorted(
                nodes.items(), key=lambda item: (item[0][0], -item[1], item[0])
            )
        ],
        links=[
            JourneyLink(source=_node_id(source), target=_node_id(target), value=value)
            for (source, target), value in sorted(
                links.items(), key=lambda item: (item[0][0][0], -item[1], item[0])
            )
        ],
    )


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


def _node_id(node: tuple[int, str]) -> str:
    return f"{node[0]}:{node[1]}"
