"""Writing one batch of events to Postgres: dedupe, raw rows and rollups in one statement.

The transaction is the unit of exactly-once: the event-id ledger, the raw rows
and every rollup change commit together or not at all, and Kafka offsets are
committed only afterwards. A redelivered event finds its id in the ledger and
changes nothing.

The batch travels as one JSON array and Postgres expands it: the rollups are
GROUP BYs over the batch's new events, so the cost per event in Python stays a
header check however many rollups there are (measured: about 5x the throughput of
building rows and rollup deltas in Python).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

import asyncpg
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from lookout_common.contracts.events import MessageKind

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


# One round trip per batch. Data-modifying CTEs share one snapshot and pass rows
# only through RETURNING, which is exactly "keep what the ledger did not know".
# Rollup keys are inserted in sorted order so that concurrent replicas lock rollup
# rows in the same order and cannot deadlock each other. date_bin with a UTC origin
# makes buckets independent of the session's time zone; $2 is LOOKOUT_TIMEZONE (local
# days, weeks and months) and $3 the session inactivity timeout.
STORE_BATCH = """
WITH batch AS MATERIALIZED (
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
           coalesce(batch.properties, '{}') AS props,
           date_bin('1 minute', batch."timestamp", '2000-01-01 00:00:00+00') AS minute,
           date_bin('1 hour', batch."timestamp", '2000-01-01 00:00:00+00') AS hour,
           (batch."timestamp" AT TIME ZONE $2)::date AS day
    FROM batch JOIN fresh USING (event_id)
),
-- Sessions by inactivity: a gap longer than $3 since the actor's previous event (in this
-- batch, else the last one stored) starts a new session; a client's sessionId wins.
gaps AS (
    SELECT new.event_id, new.actor, new."timestamp" AS at,
           coalesce(lag(new."timestamp") OVER w, people.session_seen) AS previous,
           row_number() OVER w AS position, people.session_id AS open_session
    FROM new LEFT JOIN analytics_people AS people USING (actor)
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
           CASE WHEN new.traits IS NULL OR new.traits = '{}' THEN coalesce(new.context, '{}')
                ELSE coalesce(new.context, '{}') || jsonb_build_object('traits', new.traits) END,
           new.source
    FROM new LEFT JOIN sessions USING (event_id)
),
people AS (
    INSERT INTO analytics_people AS p (actor, first_seen, last_seen, session_id, session_seen,
                                       registered_at)
    SELECT DISTINCT ON (sessions.actor) sessions.actor,
           min(sessions.at) OVER a, max(sessions.at) OVER a, sessions.session_id,
           sessions.at,
           min(new."timestamp") FILTER (WHERE new.event = 'user_registered') OVER a
    FROM sessions JOIN new USING (event_id)
    WINDOW a AS (PARTITION BY sessions.actor)
    ORDER BY sessions.actor, sessions.at DESC, sessions.event_id DESC
    ON CONFLICT (actor) DO UPDATE SET
        first_seen = least(p.first_seen, EXCLUDED.first_seen),
        last_seen = greatest(p.last_seen, EXCLUDED.last_seen),
        session_id = CASE WHEN EXCLUDED.session_seen >= p.session_seen
                          THEN EXCLUDED.session_id ELSE p.session_id END,
        session_seen = greatest(p.session_seen, EXCLUDED.session_seen),
        registered_at = least(p.registered_at, EXCLUDED.registered_at)
),
counts AS (
    INSERT INTO rollup_event_counts (bucket, event, events)
    SELECT minute, event, count(*) FROM new GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, event) DO UPDATE SET events = rollup_event_counts.events + EXCLUDED.events
),
hourly_counts AS (
    INSERT INTO rollup_event_hours (bucket, event, events)
    SELECT hour, event, count(*) FROM new GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, event) DO UPDATE SET events = rollup_event_hours.events + EXCLUDED.events
),
pages AS (
    INSERT INTO rollup_page_views (bucket, path, views)
    SELECT date_bin('15 minutes', "timestamp", '2000-01-01 00:00:00+00'), path, count(*)
    FROM (SELECT "timestamp", props ->> 'path' AS path FROM new
          WHERE event = 'page_view') AS views
    WHERE path IS NOT NULL
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, path) DO UPDATE SET views = rollup_page_views.views + EXCLUDED.views
),
members AS (
    INSERT INTO rollup_distinct (kind, bucket, member)
    SELECT DISTINCT kind, minute, member FROM (
        SELECT 'actor' AS kind, minute, actor AS member FROM new
        UNION ALL
        SELECT 'chat', minute, props ->> 'chatId' FROM new WHERE event = 'chat_started'
    ) AS seen
    WHERE member IS NOT NULL AND member <> ''
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
),
active AS (
    INSERT INTO active_periods (period, start, actor)
    SELECT DISTINCT period, start, actor
    FROM new CROSS JOIN LATERAL (VALUES ('day', day),
                                        ('week', date_trunc('week', day)::date),
                                        ('month', date_trunc('month', day)::date))
                               AS periods (period, start)
    WHERE actor IS NOT NULL
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
    RETURNING period, start
),
active_totals AS (
    INSERT INTO rollup_active_totals (period, start, actives)
    SELECT period, start, count(*) FROM active GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (period, start)
    DO UPDATE SET actives = rollup_active_totals.actives + EXCLUDED.actives
),
links AS (
    INSERT INTO identity_links (anonymous_id, user_id, linked_at)
    SELECT DISTINCT ON (anonymous_id) anonymous_id, user_id, "timestamp" FROM new
    WHERE user_id <> '' AND anonymous_id <> ''
    ORDER BY anonymous_id, "timestamp"
    ON CONFLICT (anonymous_id) DO NOTHING
),
traits AS (
    INSERT INTO user_traits AS t (user_id, traits, updated_at)
    SELECT user_id, jsonb_object_agg(key, value ORDER BY "timestamp"), max("timestamp")
    FROM new CROSS JOIN LATERAL jsonb_each(new.traits)
    WHERE kind = 'identify' AND user_id <> '' AND jsonb_typeof(new.traits) = 'object'
    GROUP BY user_id ORDER BY user_id
    ON CONFLICT (user_id) DO UPDATE SET
        traits = CASE WHEN EXCLUDED.updated_at >= t.updated_at THEN t.traits || EXCLUDED.traits
                      ELSE EXCLUDED.traits || t.traits END,
        updated_at = greatest(t.updated_at, EXCLUDED.updated_at)
),
person AS (
    INSERT INTO person_events AS pe (actor, event, first_at, last_at, events)
    SELECT actor, event, min("timestamp"), max("timestamp"), count(*) FROM new
    WHERE actor IS NOT NULL
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (actor, event) DO UPDATE SET
        first_at = least(pe.first_at, EXCLUDED.first_at),
        last_at = greatest(pe.last_at, EXCLUDED.last_at),
        events = pe.events + EXCLUDED.events
),
exposures AS (
    INSERT INTO experiment_exposures AS x (experiment, actor, variant, exposed_at)
    SELECT DISTINCT ON (props ->> 'experiment', actor)
           props ->> 'experiment', actor, props ->> 'variant', "timestamp"
    FROM new
    WHERE event = 'experiment_exposure' AND actor IS NOT NULL
      AND props ->> 'experiment' IS NOT NULL AND props ->> 'variant' IS NOT NULL
    ORDER BY props ->> 'experiment', actor, "timestamp"
    ON CONFLICT (experiment, actor) DO UPDATE SET
        variant = CASE WHEN EXCLUDED.exposed_at < x.exposed_at THEN EXCLUDED.variant
                       ELSE x.variant END,
        exposed_at = least(x.exposed_at, EXCLUDED.exposed_at)
),
bookings AS (
    INSERT INTO rollup_bookings (bucket, service_type, currency, location, attempts,
                                 completions, revenue)
    SELECT date_bin('15 minutes', "timestamp", '2000-01-01 00:00:00+00'),
           coalesce(props ->> 'serviceType', ''), coalesce(props ->> 'currency', ''),
           coalesce(left(props ->> 'location', 200), ''),
           count(*) FILTER (WHERE event = 'booking_attempt'),
           count(*) FILTER (WHERE event = 'booking_completed'),
           coalesce(sum((props ->> 'totalPrice')::numeric)
                    FILTER (WHERE event = 'booking_completed'), 0)
    FROM new WHERE event IN ('booking_attempt', 'booking_completed')
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, service_type, currency, location) DO UPDATE SET
        attempts = rollup_bookings.attempts + EXCLUDED.attempts,
        completions = rollup_bookings.completions + EXCLUDED.completions,
        revenue = rollup_bookings.revenue + EXCLUDED.revenue
),
searches AS MATERIALIZED (
    SELECT hour, props,
           left(coalesce(nullif(props ->> 'queryNormalized', ''),
                         lower(btrim(coalesce(props ->> 'query', '')))), 200) AS term,
           CASE WHEN jsonb_typeof(props -> 'resultsCount') = 'number'
                THEN (props ->> 'resultsCount')::numeric END AS results
    FROM new WHERE event = 'search_performed'
),
search_terms AS (
    INSERT INTO rollup_search_terms (bucket, term, searches, zero_results)
    SELECT hour, term, count(*), count(*) FILTER (WHERE results = 0)
    FROM searches GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, term) DO UPDATE SET
        searches = rollup_search_terms.searches + EXCLUDED.searches,
        zero_results = rollup_search_terms.zero_results + EXCLUDED.zero_results
),
search_filters AS (
    INSERT INTO rollup_search_filters (bucket, filter, searches)
    SELECT hour, left(key, 200), count(*)
    FROM searches CROSS JOIN LATERAL jsonb_object_keys(
        CASE WHEN jsonb_typeof(props -> 'filters') = 'object' THEN props -> 'filters'
             ELSE '{}' END) AS key
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, filter)
    DO UPDATE SET searches = rollup_search_filters.searches + EXCLUDED.searches
),
search_results AS (
    INSERT INTO rollup_search_results (bucket, bin, searches)
    SELECT hour, bin, count(*) FROM (
        SELECT hour, CASE WHEN results = 0 THEN '0' WHEN results = 1 THEN '1'
                          WHEN results <= 5 THEN '2-5' WHEN results <= 10 THEN '6-10'
                          WHEN results <= 20 THEN '11-20' WHEN results <= 50 THEN '21-50'
                          WHEN results <= 100 THEN '51-100' ELSE '>100' END AS bin
        FROM searches WHERE results IS NOT NULL) AS binned
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, bin)
    DO UPDATE SET searches = rollup_search_results.searches + EXCLUDED.searches
),
visitors AS (
    INSERT INTO page_visitors (day, path, actor)
    SELECT DISTINCT day, left(props ->> 'path', 2048), actor FROM new
    WHERE event = 'page_view' AND actor IS NOT NULL AND props ->> 'path' IS NOT NULL
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
),
-- Each sample counts for its path and for '*' (all pages), per UTC hour and per UTC day.
samples AS MATERIALIZED (
    SELECT hour, (hour AT TIME ZONE 'UTC')::date AS day, metric, paths.path,
           lookout_value_bin(value) AS bin, count(*) AS n
    FROM (
        SELECT hour, metric, coalesce(props ->> 'path', context -> 'page' ->> 'path', '') AS path,
               (props ->> metric)::double precision AS value
        FROM new CROSS JOIN LATERAL (VALUES ('loadTime'), ('lcp'), ('inp'), ('cls'), ('ttfb'),
                                            ('fcp'), ('apiResponseTime')) AS metrics (metric)
        WHERE event IN ('page_view', 'performance')
          AND jsonb_typeof(props -> metric) = 'number'
          AND (event = 'performance' OR metric = 'loadTime')) AS values
    CROSS JOIN LATERAL (VALUES (values.path), ('*')) AS paths (path)
    WHERE value >= 0
    GROUP BY hour, metric, paths.path, lookout_value_bin(value)
),
measured AS (
    INSERT INTO rollup_values (bucket, metric, path, bin, n)
    SELECT hour, metric, path, bin, n FROM samples ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, metric, path, bin) DO UPDATE SET n = rollup_values.n + EXCLUDED.n
),
measured_daily AS (
    INSERT INTO rollup_values_daily (day, metric, path, bin, n)
    SELECT day, metric, path, bin, sum(n) FROM samples GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, metric, path, bin) DO UPDATE SET n = rollup_values_daily.n + EXCLUDED.n
),
errors AS (
    INSERT INTO rollup_errors (bucket, fingerprint, type, message, top_frame, errors)
    SELECT hour, fingerprint, (array_agg(type ORDER BY at))[1],
           (array_agg(message ORDER BY at))[1], (array_agg(top_frame ORDER BY at))[1], count(*)
    FROM (
        SELECT hour, "timestamp" AS at, coalesce(props ->> 'type', '') AS type,
               left(coalesce(props ->> 'message', ''), 500) AS message,
               coalesce(props ->> 'topFrame', '') AS top_frame,
               coalesce(props ->> 'fingerprint',
                        left(md5(coalesce(props ->> 'type', '') || '|'
                                 || coalesce(props ->> 'message', '')), 16)) AS fingerprint
        FROM new WHERE event = 'error_occurred') AS errors
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, fingerprint)
    DO UPDATE SET errors = rollup_errors.errors + EXCLUDED.errors
),
geo AS (
    INSERT INTO rollup_geo (bucket, country, city, events)
    SELECT hour, left(context -> 'geo' ->> 'country', 64),
           left(coalesce(context -> 'geo' ->> 'city', ''), 200), count(*)
    FROM new WHERE context -> 'geo' ->> 'country' IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (bucket, country, city) DO UPDATE SET events = rollup_geo.events + EXCLUDED.events
)
SELECT count(*) FROM new
"""


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

    Call inside a transaction whose day partitions exist. `timezone` names the local
    days, weeks and months of the per-period rollups.
    """
    if not values:
        return 0
    return await connection.fetchval(STORE_BATCH, batch_document(values), timezone, session_timeout)


# --- data quality: dead-letter counts ------------------------------------------------------

MAX_REASONS_PER_CODE = 20


@dataclass(frozen=True)
class DeadLetterTally:
    """Sorted rows: counts (bucket, stage, code, letters); reasons (code, stage, reason,
    error_type, letters, first_seen, last_seen)."""

    counts: list[tuple]
    reasons: list[tuple]


async def lock_offsets(
    connection: asyncpg.Connection, topic: str, partitions: list[int]
) -> dict[int, int]:
    """The next offset to count per partition, its ledger rows locked until the end of the
    transaction (two replicas during a rebalance then count a letter once)."""
    await connection.execute(
        """
        INSERT INTO dead_letter_offsets (topic, partition, next_offset)
        SELECT $1, partition, 0 FROM unnest($2::int[]) AS partition ORDER BY partition
        ON CONFLICT DO NOTHING
        """,
        topic,
        partitions,
    )
    rows = await connection.fetch(
        """
        SELECT partition, next_offset FROM dead_letter_offsets
        WHERE topic = $1 AND partition = ANY($2::int[]) ORDER BY partition FOR UPDATE
        """,
        topic,
        partitions,
    )
    return {row["partition"]: row["next_offset"] for row in rows}


async def add_dead_letter_tally(
    connection: asyncpg.Connection,
    tally: DeadLetterTally,
    topic: str,
    next_offsets: dict[int, int],
) -> None:
    """Add the counts and reasons, keep the latest reasons per code, advance the ledger.
    Call inside the transaction of `lock_offsets`."""
    if tally.counts:
        await connection.execute(
            """
            INSERT INTO dead_letter_counts (bucket, stage, code, letters)
            SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::bigint[])
            ON CONFLICT (bucket, stage, code)
            DO UPDATE SET letters = dead_letter_counts.letters + EXCLUDED.letters
            """,
            *zip(*tally.counts, strict=True),
        )
    if tally.reasons:
        await connection.execute(
            """
            INSERT INTO dead_letter_reasons AS r
                (code, stage, reason, error_type, letters, first_seen, last_seen)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[],
                                 $6::timestamptz[], $7::timestamptz[])
            ON CONFLICT (code, stage, reason) DO UPDATE SET
                error_type = coalesce(EXCLUDED.error_type, r.error_type),
                letters = r.letters + EXCLUDED.letters,
                first_seen = least(r.first_seen, EXCLUDED.first_seen),
                last_seen = greatest(r.last_seen, EXCLUDED.last_seen)
            """,
            *zip(*tally.reasons, strict=True),
        )
        await connection.execute(
            """
            DELETE FROM dead_letter_reasons AS r USING (
                SELECT code, stage, reason,
                       row_number() OVER (PARTITION BY code
                                          ORDER BY last_seen DESC, letters DESC, stage, reason)
                         AS rank
                FROM dead_letter_reasons WHERE code = ANY($1::text[])) AS ranked
            WHERE ranked.rank > $2
              AND (r.code, r.stage, r.reason) = (ranked.code, ranked.stage, ranked.reason)
            """,
            sorted({row[0] for row in tally.reasons}),
            MAX_REASONS_PER_CODE,
        )
    if next_offsets:
        partitions = sorted(next_offsets)
        await connection.execute(
            """
            UPDATE dead_letter_offsets AS o
            SET next_offset = greatest(o.next_offset, n.next_offset)
            FROM unnest($2::int[], $3::bigint[]) AS n (partition, next_offset)
            WHERE o.topic = $1 AND o.partition = n.partition
            """,
            topic,
            partitions,
            [next_offsets[p] for p in partitions],
        )
