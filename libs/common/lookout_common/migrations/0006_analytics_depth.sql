-- Analytics in depth: per-person state and the rollups behind every metric endpoint.
--
-- The aggregator writes all of it in the batch transaction that stores the raw events
-- (lookout_aggregator/store.py), so each table is exactly-once with the raw rows.
-- "actor" is the id an event came with: its user id, else its anonymous id.
-- identity_links maps anonymous ids to the user they later identified as; queries that
-- follow people (funnels, journeys, retention, experiments) resolve actors through it.
-- Hour buckets are UTC hours; "day" columns are calendar days in LOOKOUT_TIMEZONE as
-- the aggregator was configured when it stored the event.

-- One row per actor: first and last activity, the current inactivity-derived session,
-- the registration time (the first user_registered event).
CREATE TABLE analytics_people (
    actor         text PRIMARY KEY,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    session_id    text NOT NULL,
    session_seen  timestamptz NOT NULL,       -- last activity of session_id
    registered_at timestamptz
);
CREATE INDEX analytics_people_last_seen_idx ON analytics_people (last_seen);
CREATE INDEX analytics_people_first_seen_idx ON analytics_people (first_seen);

-- An anonymous id is linked to the first user id it was seen with (identify, or any
-- event carrying both ids). Later, different user ids for it are ignored (shared device).
CREATE TABLE identity_links (
    anonymous_id text PRIMARY KEY,
    user_id      text NOT NULL,
    linked_at    timestamptz NOT NULL
);
CREATE INDEX identity_links_user_idx ON identity_links (user_id);

-- The latest traits of each user, merged key by key in event-time order.
CREATE TABLE user_traits (
    user_id    text PRIMARY KEY,
    traits     jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Which actors were active in which local day, ISO week (starting Monday) and month;
-- period_totals counts each membership once when it is first inserted.
CREATE TABLE active_periods (
    period text NOT NULL CHECK (period IN ('day', 'week', 'month')),
    start  date NOT NULL,
    actor  text NOT NULL,
    PRIMARY KEY (period, start, actor)
);
CREATE INDEX active_periods_actor_idx ON active_periods (actor);

CREATE TABLE rollup_active_totals (
    period  text NOT NULL,
    start   date NOT NULL,
    actives bigint NOT NULL,
    PRIMARY KEY (period, start)
);

-- Per actor and event name: first and last time, how often. Experiment conversions
-- ("did the goal at or after exposure" is "last_at >= exposed_at") read it.
CREATE TABLE person_events (
    actor    text NOT NULL,
    event    text NOT NULL,
    first_at timestamptz NOT NULL,
    last_at  timestamptz NOT NULL,
    events   bigint NOT NULL,
    PRIMARY KEY (actor, event)
);

-- Each actor's first exposure to an experiment, and the variant they were shown then.
CREATE TABLE experiment_exposures (
    experiment text NOT NULL,
    actor      text NOT NULL,
    variant    text NOT NULL,
    exposed_at timestamptz NOT NULL,
    PRIMARY KEY (experiment, actor)
);
CREATE INDEX experiment_exposures_actor_idx ON experiment_exposures (actor);

-- Events per UTC hour and event name: the minute counts, summed, for long ranges.
CREATE TABLE rollup_event_hours (
    bucket timestamptz NOT NULL,
    event  text NOT NULL,
    events bigint NOT NULL,
    PRIMARY KEY (bucket, event) INCLUDE (events)
);

-- Bookings per 15-minute UTC bucket by service type, currency and location ('' = not sent).
CREATE TABLE rollup_bookings (
    bucket       timestamptz NOT NULL,
    service_type text NOT NULL,
    currency     text NOT NULL,
    location     text NOT NULL,
    attempts     bigint NOT NULL,
    completions  bigint NOT NULL,
    revenue      numeric NOT NULL,            -- sum of completed bookings' totalPrice
    PRIMARY KEY (bucket, service_type, currency, location)
);

-- Searches per hour by normalised term; filter keys used; results-count histogram.
CREATE TABLE rollup_search_terms (
    bucket       timestamptz NOT NULL,
    term         text NOT NULL,
    searches     bigint NOT NULL,
    zero_results bigint NOT NULL,
    PRIMARY KEY (bucket, term)
);
CREATE TABLE rollup_search_filters (
    bucket   timestamptz NOT NULL,
    filter   text NOT NULL,
    searches bigint NOT NULL,
    PRIMARY KEY (bucket, filter)
);
CREATE TABLE rollup_search_results (
    bucket   timestamptz NOT NULL,
    bin      text NOT NULL,                   -- '0', '1', '2-5', '6-10', '11-20', '21-50', '51-100', '>100'
    searches bigint NOT NULL,
    PRIMARY KEY (bucket, bin)
);

-- Which actors viewed which path on which local day (unique visitors per page).
CREATE TABLE page_visitors (
    day   date NOT NULL,
    path  text NOT NULL,
    actor text NOT NULL,
    PRIMARY KEY (day, path, actor)
);
CREATE INDEX page_visitors_actor_idx ON page_visitors (actor);

-- Distributions as log-spaced histograms (relative error under 2.5 %): per UTC hour,
-- metric (loadTime, lcp, inp, cls, ttfb, fcp, apiResponseTime) and path, path '*' being
-- all pages together. loadTime comes from page_view and performance events, the others
-- from performance events. The same per UTC day: long ranges read whole days there and
-- only their partial first and last days by the hour.
CREATE TABLE rollup_values (
    bucket timestamptz NOT NULL,
    metric text NOT NULL,
    path   text NOT NULL,
    bin    integer NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (bucket, metric, path, bin) INCLUDE (n)  -- index-only reads
);
CREATE TABLE rollup_values_daily (
    day    date NOT NULL,
    metric text NOT NULL,
    path   text NOT NULL,
    bin    integer NOT NULL,
    n      bigint NOT NULL,
    PRIMARY KEY (metric, day, path, bin) INCLUDE (n)
);

-- A value's histogram bin: ceil(log_1.05(v)); every value at or below 1e-9 shares one bin.
-- A bin i stands for 2 * 1.05^i / 2.05, within 2.44 % of every value in it.
CREATE FUNCTION lookout_value_bin(v double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v <= 1e-9 THEN -2147483648 ELSE ceil(ln(v) / ln(1.05))::integer END
$$;

-- Errors per UTC hour by fingerprint (ingest computes it from type, message, top frame).
CREATE TABLE rollup_errors (
    bucket      timestamptz NOT NULL,
    fingerprint text NOT NULL,
    type        text NOT NULL,                -- type, message and top frame of the first
    message     text NOT NULL,                -- event stored for the bucket (earliest of
    top_frame   text NOT NULL,                -- its batch)
    errors      bigint NOT NULL,
    PRIMARY KEY (bucket, fingerprint)
);

-- Events per UTC hour by country and city, from events with geo consent only.
CREATE TABLE rollup_geo (
    bucket  timestamptz NOT NULL,
    country text NOT NULL,
    city    text NOT NULL,
    events  bigint NOT NULL,
    PRIMARY KEY (bucket, country, city)
);

-- Funnels and journeys read the raw events of a few event names in a time range.
CREATE INDEX user_analytics_event_idx ON user_analytics (event, occurred_at);
