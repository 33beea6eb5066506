"""Journeys: where people go after a start step, as the most common paths and as a Sankey
diagram's nodes and links. The paths are taken in SQL from the sessions of the people who did
the start step; ranking them and drawing the graph is a pure function over their counts.

How a path is taken:
- Each sequence is one session (client `sessionId`, else 30 minutes of inactivity, per
  person), its steps in time order (equal timestamps by event id), e.g. "page:/search" or
  "event:booking_attempt". `performance`, `experiment_exposure` and `identify` are
  measurements, not steps.
- Consecutive repeats of a step count once ("a a b a" is "a b a").
- Only the first occurrence of the start step in a sequence starts a path, so every sequence
  counts at most once. The path is that step and the steps after it, at most `depth` in all.
- Levels are 1-based: the start is level 1. A path shorter than `depth` ended with its
  sequence, and gets a link to an "(exit)" node at the next level; a path of full length
  was cut at `depth` and gets none.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from itertools import pairwise

import asyncpg
from pydantic import Field

from lookout_common.models import Camel
from lookout_dashboard.funnels import LINKED, PERSON

EXIT = "(exit)"
DEFAULT_DEPTH = 4
DEFAULT_TOP = 10
# Most people whose sessions one journey query follows (the answer says if it stopped).
MAX_JOURNEY_PEOPLE = 5_000
# Measurements and assignments, not something the person did: never a journey step.
NOT_STEPS = ("experiment_exposure", "identify", "performance")

# $1 the start's event name, $2 from, $3 to, $4 the start's page path (NULL for an event),
# $5 NOT_STEPS, $6 the start step, $7 depth. One row per distinct path with how many sessions
# took it, and one row with a NULL path counting the starters (at most MAX + 1).
JOURNEYS_SQL = f"""
WITH starters AS MATERIALIZED (
    SELECT {PERSON} AS person, min(ua.occurred_at) AS first
    FROM user_analytics AS ua {LINKED}
    WHERE ua.event = $1 AND ua.occurred_at >= $2 AND ua.occurred_at < $3
      AND ($4::text IS NULL OR ua.properties ->> 'path' = $4)
    GROUP BY 1 ORDER BY 2, 1 LIMIT {MAX_JOURNEY_PEOPLE + 1}
),
followed AS (
    SELECT person, first FROM starters ORDER BY first, person LIMIT {MAX_JOURNEY_PEOPLE}
),
-- Every id the followed people's events carry, from their first start on: no session of
-- theirs holds the start step any earlier in the range.
ids AS (
    SELECT id, min(first) AS first FROM (
        SELECT person AS id, first FROM followed
        UNION ALL
        SELECT link.anonymous_id, followed.first
        FROM followed JOIN identity_links AS link ON link.user_id = followed.person
    ) AS both_kinds GROUP BY id
),
events AS (
    SELECT {PERSON} AS person, coalesce(ua.session_id, '') AS session, ua.occurred_at,
           ua.event_id,
           CASE WHEN ua.event = 'page_view' AND coalesce(ua.path, '') <> ''
                THEN 'page:' || ua.path ELSE 'event:' || ua.event END AS step
    FROM (
        SELECT e.user_id, e.anonymous_id, e.session_id, e.occurred_at, e.event_id, e.event,
               e.kind, e.properties ->> 'path' AS path
        FROM ids JOIN user_analytics AS e
          ON e.user_id = ids.id AND e.occurred_at >= ids.first AND e.occurred_at < $3
        UNION ALL
        SELECT e.user_id, e.anonymous_id, e.session_id, e.occurred_at, e.event_id, e.event,
               e.kind, e.properties ->> 'path' AS path
        FROM ids JOIN user_analytics AS e
          ON e.anonymous_id = ids.id AND e.user_id IS NULL AND e.occurred_at >= ids.first
         AND e.occurred_at < $3
    ) AS ua {LINKED}
    WHERE ua.kind <> 'identify' AND ua.event <> ALL($5::text[])
),
-- Each session's steps with consecutive repeats collapsed, numbered in time order.
changes AS (
    SELECT person, session, occurred_at, event_id, step,
           step IS DISTINCT FROM lag(step) OVER in_session AS changed
    FROM events
    WINDOW in_session AS (PARTITION BY person, session ORDER BY occurred_at, event_id)
),
collapsed AS (
    SELECT person, session, step,
           row_number() OVER (PARTITION BY person, session ORDER BY occurred_at, event_id)
               AS position
    FROM changes WHERE changed
),
firsts AS (
    SELECT person, session, min(position) AS first
    FROM collapsed WHERE step = $6 GROUP BY person, session
),
paths AS (
    SELECT array_agg(collapsed.step ORDER BY collapsed.position) AS path
    FROM collapsed JOIN firsts USING (person, session)
    WHERE collapsed.position >= firsts.first AND collapsed.position < firsts.first + $7
    GROUP BY person, session
)
SELECT path, count(*) AS sequences FROM paths GROUP BY path
UNION ALL
SELECT NULL, count(*) FROM starters
"""


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


def rank_paths(
    paths: Mapping[tuple[str, ...], int],
    start: str,
    *,
    depth: int = DEFAULT_DEPTH,
    top: int = DEFAULT_TOP,
) -> Journeys:
    """The `top` most common of these paths from `start` (with how many sequences took each),
    and every path's flow as a Sankey graph."""
    if depth < 1:
        raise JourneyError("depth: must be at least 1")
    if top < 1:
        raise JourneyError("top: must be at least 1")
    if start == EXIT:
        raise JourneyError(f"start: {EXIT!r} is reserved for where sequences end")
    nodes: Counter[tuple[int, str]] = Counter()
    links: Counter[tuple[tuple[int, str], tuple[int, str]]] = Counter()
    for path, count in paths.items():
        if EXIT in path:
            raise JourneyError(f"sequences: the step {EXIT!r} is reserved for where sequences end")
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


async def follow_journeys(
    connection: asyncpg.Connection | asyncpg.Pool,
    start_step: str,
    start: datetime,
    end: datetime,
    *,
    depth: int = DEFAULT_DEPTH,
    top: int = DEFAULT_TOP,
) -> tuple[Journeys, int, bool]:
    """The journeys from `start_step` ("page:<path>" or "event:<name>") in the sessions of the
    first MAX_JOURNEY_PEOPLE people (by their first start) who did it in [start, end), with
    how many people were followed and whether more did it."""
    kind, _, name = start_step.partition(":")
    event, path = ("page_view", name) if kind == "page" else (name, None)
    rows = await connection.fetch(
        JOURNEYS_SQL, event, start, end, path, list(NOT_STEPS), start_step, depth
    )
    paths = {tuple(row["path"]): row["sequences"] for row in rows if row["path"] is not None}
    starters = next(row["sequences"] for row in rows if row["path"] is None)
    found = rank_paths(paths, start_step, depth=depth, top=top)
    return found, min(starters, MAX_JOURNEY_PEOPLE), starters > MAX_JOURNEY_PEOPLE


def _node_id(node: tuple[int, str]) -> str:
    return f"{node[0]}:{node[1]}"
