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

from lookout_common.contracts.models import Camel
from lookout_dashboard.analysis.funnels import LINKED, PERSON

EXIT = "(exit)"
DEFAULT_DEPTH = 4
DEFAULT_TOP = 10
# Most people whose sessions one journey query follows (the answer says if it stopped).
MAX_JOURNEY_PEOPLE = 5_000
# Measurements and assignments, not something the person did: never a journey step.
NOT_STEPS = ("experiment_exposure", "identify", "performance")

# Events of a session read per id before its path is known; sessions whose path these do
# not settle are read whole (the statement says which).
EVENTS_PER_ID = 32


def _id_events(since: str, order: str = "", where: str = "") -> str:
    """The step events (occurred_at, event_id, session_id, step) of `ids.id` in the range
    from `since` on (and `where`), read through the id's own index: by user id, and by
    anonymous id where the user id is null (each event once)."""
    select = f"""
            SELECT e.occurred_at, e.event_id, coalesce(e.session_id, '') AS session_id,
                   CASE WHEN e.event = 'page_view' AND coalesce(e.properties ->> 'path', '') <> ''
                        THEN 'page:' || (e.properties ->> 'path') ELSE 'event:' || e.event END
                       AS step
            FROM user_analytics AS e
            WHERE e.{{column}} = ids.id AND e.occurred_at >= {since}
              AND e.occurred_at >= $2 AND e.occurred_at < $3
              AND e.kind <> 'identify' AND e.event <> ALL($5::text[]) {{anonymous}} {where}
            {order}"""
    by_user = select.format(column="user_id", anonymous="")
    by_anonymous = select.format(column="anonymous_id", anonymous="AND e.user_id IS NULL")
    return f"({by_user}) UNION ALL ({by_anonymous})"


def _session_events(sessions: str, limit: str) -> str:
    """Rows (person, session, id, occurred_at, event_id, session_id, step, last,
    in_session) of each session in `sessions` from its first start on: per id, the first
    `limit` events from there on, of any session (so that a short session does not scan the
    rest of the range; `in_session` says which are the session's, `last` marks the row
    that filled the share). The share is taken in time order alone, with every event at the
    time of its last: then it is the index's own order and the read stops there, and the
    rows of the first `limit` by (time, event id), the ones that count, are all in it."""
    reads = _id_events(
        "sessions.first", f"ORDER BY e.occurred_at FETCH FIRST {limit} ROWS WITH TIES"
    )
    # A lateral read is one session and id, the share's partition: its few rows are
    # numbered there, instead of sorting every row read by session, id and time again.
    return f"""
        SELECT sessions.person, sessions.session, ids.id, rows.*,
               rows.session_id = sessions.session AS in_session
        FROM {sessions} AS sessions JOIN ids USING (person)
        CROSS JOIN LATERAL (
            SELECT *, row_number() OVER (ORDER BY occurred_at, event_id) = {limit} AS last
            FROM ({reads}) AS read
        ) AS rows"""


def _whole_sessions(sessions: str) -> str:
    """Rows (person, session, occurred_at, event_id, step) of each session in `sessions`
    from its first start to the range's end. Each id of a person is read once, from the
    earliest first start of the person's sessions (materialized, so that the planner does
    not read it again per session): a person's short sessions each read alone would each
    scan the rest of the range."""
    reads = _id_events(
        "earliest.first", where="AND coalesce(e.session_id, '') = ANY(earliest.sessions)"
    )
    return f"""
        WITH reads AS MATERIALIZED (
            SELECT earliest.person, rows.*
            FROM (
                SELECT person, min(first) AS first, array_agg(session) AS sessions
                FROM {sessions} GROUP BY person
            ) AS earliest
            JOIN ids USING (person)
            CROSS JOIN LATERAL ({reads}) AS rows
        )
        SELECT sessions.person, sessions.session, reads.occurred_at, reads.event_id, reads.step
        FROM reads JOIN {sessions} AS sessions
          ON sessions.person = reads.person AND sessions.session = reads.session_id
         AND reads.occurred_at >= sessions.first"""


def _paths(rows: str) -> str:
    """Per session of `rows`: its path, repeats collapsed, from the first start, at most
    $7 steps."""
    return f"""
        SELECT person, session,
               array_agg(step ORDER BY position) FILTER (
                   WHERE position >= first AND position < first + $7) AS path
        FROM (
            SELECT *, min(position) FILTER (WHERE step = $6)
                          OVER (PARTITION BY person, session) AS first
            FROM (
                SELECT person, session, step,
                       row_number() OVER (PARTITION BY person, session
                                          ORDER BY occurred_at, event_id) AS position
                FROM (
                    SELECT *, step IS DISTINCT FROM lag(step) OVER (
                        PARTITION BY person, session ORDER BY occurred_at, event_id) AS changed
                    FROM {rows}
                ) AS changes WHERE changed
            ) AS collapsed
        ) AS numbered
        GROUP BY person, session"""


# $1 the start's event name, $2 from, $3 to, $4 the start's page path (NULL for an event),
# $5 NOT_STEPS, $6 the start step, $7 depth, $8 rows read per id and session at first. One
# row per distinct path with how many sessions took it, and one row with a NULL path
# counting the starters (at most MAX + 1).
JOURNEYS_SQL = f"""
WITH starts AS MATERIALIZED (
    -- Each session's first start: where its path begins (nothing earlier matters).
    SELECT {PERSON} AS person, coalesce(ua.session_id, '') AS session,
           min(ua.occurred_at) AS first
    FROM user_analytics AS ua {LINKED}
    WHERE ua.event = $1 AND ua.occurred_at >= $2 AND ua.occurred_at < $3
      AND ($4::text IS NULL OR ua.properties ->> 'path' = $4)
    GROUP BY 1, 2
),
starters AS MATERIALIZED (
    SELECT person, min(first) AS first FROM starts
    GROUP BY person ORDER BY 2, 1 LIMIT {MAX_JOURNEY_PEOPLE + 1}
),
followed AS (
    SELECT person FROM starters ORDER BY first, person LIMIT {MAX_JOURNEY_PEOPLE}
),
sessions AS (SELECT starts.* FROM starts JOIN followed USING (person)),
-- Every id a followed person's events carry: theirs and the anonymous ids linked to it.
ids AS (
    SELECT person, person AS id FROM followed
    UNION
    SELECT followed.person, link.anonymous_id
    FROM followed JOIN identity_links AS link ON link.user_id = followed.person
),
first_rows AS MATERIALIZED ({_session_events("sessions", "$8")}),
-- Per session, the rows read so far are all there are up to the earliest row that filled
-- its id's share (or to the end, if none did).
known AS (
    SELECT first_rows.* FROM first_rows
    LEFT JOIN (
        SELECT DISTINCT ON (person, session) person, session, occurred_at AS bound_at,
               event_id AS bound_id
        FROM first_rows WHERE last ORDER BY person, session, occurred_at, event_id
    ) AS bounds USING (person, session)
    WHERE in_session AND (
        bounds.bound_at IS NULL
        OR (first_rows.occurred_at, first_rows.event_id) <= (bounds.bound_at, bounds.bound_id))
),
first_paths AS MATERIALIZED (
    SELECT first_paths.*, bounds.person IS NULL OR coalesce(cardinality(path), 0) = $7 AS settled
    FROM ({_paths("known")}) AS first_paths
    LEFT JOIN (SELECT DISTINCT person, session FROM first_rows WHERE last) AS bounds
      USING (person, session)
),
unsettled AS (
    SELECT sessions.* FROM sessions
    JOIN first_paths USING (person, session) WHERE NOT settled
),
paths AS (
    SELECT path FROM first_paths WHERE settled
    UNION ALL
    SELECT path FROM ({_paths(f"({_whole_sessions('unsettled')}) AS whole")}) AS whole_paths
)
-- A session whose start is no step (identify, telemetry) has no path.
SELECT path, count(*) AS sequences FROM paths WHERE path IS NOT NULL GROUP BY path
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
    events_per_id: int = EVENTS_PER_ID,
) -> tuple[Journeys, int, bool]:
    """The journeys from `start_step` ("page:<path>" or "event:<name>") in the sessions of the
    first MAX_JOURNEY_PEOPLE people (by their first start) who did it in [start, end), with
    how many people were followed and whether more did it."""
    kind, _, name = start_step.partition(":")
    event, path = ("page_view", name) if kind == "page" else (name, None)
    arguments = (event, start, end, path, list(NOT_STEPS), start_step, depth, events_per_id)
    if isinstance(connection, asyncpg.Pool):
        async with connection.acquire() as acquired:
            rows = await _journey_rows(acquired, arguments)
    else:
        rows = await _journey_rows(connection, arguments)
    paths = {tuple(row["path"]): row["sequences"] for row in rows if row["path"] is not None}
    starters = next(row["sequences"] for row in rows if row["path"] is None)
    found = rank_paths(paths, start_step, depth=depth, top=top)
    return found, min(starters, MAX_JOURNEY_PEOPLE), starters > MAX_JOURNEY_PEOPLE


async def _journey_rows(
    connection: asyncpg.Connection, arguments: tuple[object, ...]
) -> list[asyncpg.Record]:
    """JOURNEYS_SQL's rows, planned without bitmap scans. The first events of an id are
    read in time order from its (id, occurred_at) index, stopping after the share; the
    planner, which expects a few rows per id where heavy ids have thousands, would rather
    gather all of an id's rows from its first start on through a bitmap and sort them (on
    the bench's day about 200 rows read per id and session instead of 12)."""
    async with connection.transaction():
        await connection.execute("SET LOCAL enable_bitmapscan = off")
        rows: list[asyncpg.Record] = await connection.fetch(JOURNEYS_SQL, *arguments)
    return rows


def _node_id(node: tuple[int, str]) -> str:
    return f"{node[0]}:{node[1]}"
