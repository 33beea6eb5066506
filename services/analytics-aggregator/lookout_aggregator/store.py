"""Writing one batch of events to Postgres: dedupe, raw rows and rollups in one
transaction of two statements.

The transaction is the unit of exactly-once: the event-id ledger, the raw rows
and every rollup change commit together or not at all, and Kafka offsets are
committed only afterwards. A redelivered event finds its id in the ledger and
changes nothing.

The batch travels as one JSON array and Postgres expands it: the rollups are
GROUP BYs over the batch's new events (one upsert per distinct key per batch), so
the cost per event in Python stays a header check however many rollups there are
(measured: about 5x the throughput of building rows and rollup deltas in Python).

The first statement (`STORE_EVENTS`) writes the ledger, the raw rows and every row that
belongs to one person; events are keyed by person, so concurrent replicas never touch
the same rows there. The second (`STORE_ROLLUPS`) adds the batch to the rows every
replica shares (events per minute, views per path...): it is short and runs last, so a
shared row is locked only from then to the commit and replicas overlap instead of
queueing behind each other's whole batch. Every upsert inserts its keys in `ORDER BY`
key order and the statements run in one order, so replicas lock rows in one order and
cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Annotated

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lookout_aggregator.rollups import UTC_ORIGIN, Fragment, literal
from lookout_aggregator.rollups.active import ACTIVE
from lookout_aggregator.rollups.bookings import BOOKINGS
from lookout_aggregator.rollups.distinct import DISTINCT
from lookout_aggregator.rollups.errors import ERRORS
from lookout_aggregator.rollups.event_counts import EVENT_COUNTS
from lookout_aggregator.rollups.experiments import EXPERIMENTS
from lookout_aggregator.rollups.geo import GEO
from lookout_aggregator.rollups.identity import IDENTITY
from lookout_aggregator.rollups.pages import PAGES
from lookout_aggregator.rollups.person_events import PERSON_EVENTS
from lookout_aggregator.rollups.search import SEARCH
from lookout_aggregator.rollups.step_times import STEP_TIMES
from lookout_aggregator.rollups.values import VALUES
from lookout_common.contracts.events import EventType, MessageKind

SESSION_TIMEOUT = timedelta(minutes=30)


class EventHead(BaseModel):
    """The envelope fields the aggregator relies on, checked before a batch is written.

    Properties, traits and context are checked by Postgres (they must be JSON objects):
    validating them here as well would double the aggregator's CPU per event.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int = Field(ge=1, le=1)
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    kind: MessageKind
    event: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    user_id: str | None = None
    anonymous_id: str | None = None
    timestamp: datetime
    received_at: datetime
    source: str
    request_id: str | None = None


# The core of the first statement: the batch, the ledger, the raw rows and per-person
# state. Data-modifying CTEs share one snapshot and pass rows only through RETURNING,
# which is exactly "keep what the ledger did not know": `new` holds the batch's events not
# stored before, and every rollup family (`rollups/`) reads it, with the person's state as
# it was before the batch (`known_*`, from analytics_people). `staged` hands the columns
# the shared rollups read to the second statement. $2 is LOOKOUT_TIMEZONE (local days,
# weeks and months) and $3 the session inactivity timeout.
REGISTERED = literal(EventType.USER_REGISTERED)
CORE = Fragment(
    "core",
    f"""
batch AS MATERIALIZED (
    SELECT DISTINCT ON (e.event_id) e.*
    FROM jsonb_to_recordset($1::text::jsonb) AS e(
        event_id text, kind text, event text, user_id text, anonymous_id text,
        properties jsonb, traits jsonb, context jsonb,
        "timestamp" timestamptz, received_at timestamptz, source text)
    ORDER BY e.event_id
),
fresh AS (
    INSERT INTO event_ids (event_id, occurred_at)
    SELECT event_id, "timestamp" FROM batch
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id
),
new AS MATERIALIZED (
    SELECT batch.*,
           nullif(coalesce(batch.user_id, batch.anonymous_id), '') AS actor,
           coalesce(batch.properties, '{{}}') AS props,
           date_bin('1 minute', batch."timestamp", {UTC_ORIGIN}) AS minute,
           date_bin('1 hour', batch."timestamp", {UTC_ORIGIN}) AS hour,
           (batch."timestamp" AT TIME ZONE $2)::date AS day,
           known.last_seen AS known_seen, known.active_day AS known_day,
           known.session_id AS known_session, known.session_seen AS known_session_seen
    FROM batch JOIN fresh USING (event_id)
    LEFT JOIN analytics_people AS known
           ON known.actor = nullif(coalesce(batch.user_id, batch.anonymous_id), '')
),
-- Sessions by inactivity: a gap longer than $3 since the actor's previous event (in this
-- batch, else the last one stored) starts a new session; a client's sessionId wins.
gaps AS (
    SELECT new.event_id, new.actor, new."timestamp" AS at,
           coalesce(lag(new."timestamp") OVER w, new.known_session_seen) AS previous,
           row_number() OVER w AS position, new.known_session AS open_session
    FROM new
    WHERE new.actor IS NOT NULL
    WINDOW w AS (PARTITION BY new.actor ORDER BY new."timestamp", new.event_id)
),
runs AS (
    SELECT *, sum(starts::int) OVER (PARTITION BY actor ORDER BY at, event_id) AS run
    FROM (SELECT gaps.*, previous IS NULL OR open_session IS NULL AND position = 1
                 OR at - previous > $3::interval AS starts
          FROM gaps) AS flagged
),
sessions AS MATERIALIZED (
    SELECT event_id, actor, at,
           CASE WHEN run = 0 THEN open_session
                ELSE 's-' || left(md5(actor || '|' || (min(at) OVER started)::text), 20)
           END AS session_id
    FROM runs
    WINDOW started AS (PARTITION BY actor, run)
),
raw AS (
    INSERT INTO user_analytics (event_id, occurred_at, received_at, kind, event, user_id,
                                anonymous_id, session_id, properties, context, source)
    SELECT new.event_id, new."timestamp", new.received_at, new.kind, new.event, new.user_id,
           new.anonymous_id, coalesce(new.context ->> 'sessionId', sessions.session_id),
           new.props,
           CASE WHEN new.traits IS NULL OR new.traits = '{{}}' THEN coalesce(new.context, '{{}}')
                ELSE coalesce(new.context, '{{}}') || jsonb_build_object('traits', new.traits) END,
           new.source
    FROM new LEFT JOIN sessions USING (event_id)
),
people AS (
    INSERT INTO analytics_people AS p (actor, first_seen, last_seen, session_id, session_seen,
                                       registered_at, active_day)
    SELECT DISTINCT ON (sessions.actor) sessions.actor,
           min(sessions.at) OVER a, max(sessions.at) OVER a, sessions.session_id,
           sessions.at,
           min(new."timestamp") FILTER (WHERE new.event = {REGISTERED}) OVER a,
           max(new.day) OVER a
    FROM sessions JOIN new USING (event_id)
    WINDOW a AS (PARTITION BY sessions.actor)
    ORDER BY sessions.actor, sessions.at DESC, sessions.event_id DESC
    ON CONFLICT (actor) DO UPDATE SET
        first_seen = least(p.first_seen, EXCLUDED.first_seen),
        last_seen = greatest(p.last_seen, EXCLUDED.last_seen),
        session_id = CASE WHEN EXCLUDED.session_seen >= p.session_seen
                          THEN EXCLUDED.session_id ELSE p.session_id END,
        session_seen = greatest(p.session_seen, EXCLUDED.session_seen),
        registered_at = least(p.registered_at, EXCLUDED.registered_at),
        active_day = greatest(p.active_day, EXCLUDED.active_day)
),
staged AS (
    INSERT INTO pg_temp.lookout_batch_new (event, "timestamp", minute, hour, props, context)
    SELECT event, "timestamp", minute, hour, props, context FROM new
)""",
)

# The second statement reads the first one's new events back (and empties the stage, so
# a second batch in the same transaction starts from nothing).
STAGED = Fragment(
    "staged",
    shared="""
new AS (
    DELETE FROM pg_temp.lookout_batch_new
    RETURNING event, "timestamp", minute, hour, props, context
)""",
)

# Per connection, emptied at every commit: what the first statement hands the second.
STAGE_TABLES = """
CREATE TEMP TABLE IF NOT EXISTS lookout_batch_new (
    event text, "timestamp" timestamptz, minute timestamptz, hour timestamptz,
    props jsonb, context jsonb) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS lookout_batch_active (period text, start date)
    ON COMMIT DELETE ROWS;
"""

# Every rollup family, written in the batch's transaction. Adding one: README, "How to add
# a metric".
FAMILIES: tuple[Fragment, ...] = (
    EVENT_COUNTS,
    PAGES,
    DISTINCT,
    ACTIVE,
    IDENTITY,
    PERSON_EVENTS,
    EXPERIMENTS,
    BOOKINGS,
    SEARCH,
    VALUES,
    ERRORS,
    GEO,
    STEP_TIMES,
)


def compose(parts: Sequence[str]) -> str:
    """One statement of the fragments' CTEs, answering how many events were new."""
    ctes = [part.strip() for part in parts if part.strip()]
    return "WITH " + ",\n".join(ctes) + "\nSELECT count(*) FROM new\n"


STORE_EVENTS = compose([fragment.sql for fragment in (CORE, *FAMILIES)])
STORE_ROLLUPS = compose([fragment.shared for fragment in (STAGED, *FAMILIES)])


def batch_document(values: Iterable[bytes]) -> str:
    """The records' JSON values as one JSON array (they are JSON objects already)."""
    return (b"[" + b",".join(values) + b"]").decode()


async def ensure_partitions(connection: asyncpg.Connection, days: Iterable[date]) -> None:
    """Day partitions are created outside the batch transaction (DDL takes strong locks)."""
    for day in sorted(days):
        await connection.execute("SELECT lookout_ensure_event_partition($1)", day)


async def store_batch(
    connection: asyncpg.Connection,
    values: Sequence[bytes],
    *,
    timezone: str = "UTC",
    session_timeout: timedelta = SESSION_TIMEOUT,
) -> int:
    """Store the events (JSON `AnalyticsEvent`s) not stored before; returns how many were new.

    The day partitions must exist. Both statements run in one transaction (a savepoint
    when called inside one, as the aggregator does, so the caller's commit decides).
    `timezone` names the local days, weeks and months of the per-period rollups.
    """
    if not values:
        return 0
    async with connection.transaction():
        await prepare(connection)
        new = await connection.fetchval(
            STORE_EVENTS, batch_document(values), timezone, session_timeout
        )
        await connection.fetchval(STORE_ROLLUPS)
    return int(new)


async def prepare(connection: asyncpg.Connection) -> None:
    """Set up this transaction for the two statements: generic plans, and the temporary
    tables the first hands the second (created once per connection)."""
    # The plans do not depend on the parameters (the batch is one JSON document), so the
    # statements are planned once per connection instead of five times (about 10 % of a
    # 5,000-event batch each time).
    await connection.execute("SET LOCAL plan_cache_mode = force_generic_plan;\n" + STAGE_TABLES)


async def explain_batch(
    connection: asyncpg.Connection,
    values: Sequence[bytes],
    *,
    timezone: str = "UTC",
    session_timeout: timedelta = SESSION_TIMEOUT,
) -> str:
    """EXPLAIN ANALYZE of both statements on `values`, rolled back: where a batch's time
    goes, node by node (bench/aggregator.py --profile)."""
    plans = []
    transaction = connection.transaction()
    await transaction.start()
    try:
        await prepare(connection)
        for statement, arguments in (
            (STORE_EVENTS, (batch_document(values), timezone, session_timeout)),
            (STORE_ROLLUPS, ()),
        ):
            rows = await connection.fetch("EXPLAIN (ANALYZE, BUFFERS) " + statement, *arguments)
            plans.append("\n".join(row[0] for row in rows))
    finally:
        await transaction.rollback()
    return "\n\n".join(plans) + "\n"
