-- Core schema: API keys, raw events (partitioned by day), event-id dedupe,
-- the rollups every dashboard query reads, and the audit log.

CREATE TABLE api_keys (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'viewer', 'ingest')),
    prefix       text NOT NULL,              -- first characters, to recognise a key in lists
    key_hash     text NOT NULL UNIQUE,       -- sha256 of the full key; the key itself is never stored
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- Raw events. The primary key must contain the partition key, so global
-- uniqueness of event_id is enforced by event_ids below, in the same transaction.
CREATE TABLE user_analytics (
    event_id     text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL,
    kind         text NOT NULL,
    event        text NOT NULL,
    user_id      text,
    anonymous_id text,
    session_id   text,
    properties   jsonb NOT NULL DEFAULT '{}',
    context      jsonb NOT NULL DEFAULT '{}',
    source       text NOT NULL,
    PRIMARY KEY (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE INDEX user_analytics_user_idx ON user_analytics (user_id, occurred_at) WHERE user_id IS NOT NULL;
CREATE INDEX user_analytics_anonymous_idx ON user_analytics (anonymous_id, occurred_at) WHERE anonymous_id IS NOT NULL;

-- Every event id ever stored (within the raw retention): the dedupe ledger.
CREATE TABLE event_ids (
    event_id    text PRIMARY KEY,
    occurred_at timestamptz NOT NULL
);
CREATE INDEX event_ids_occurred_idx ON event_ids (occurred_at);

-- Creates the day partition holding `day` (UTC) if it is missing; safe to race.
CREATE FUNCTION lookout_ensure_event_partition(day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    partition_name text := format('user_analytics_%s', to_char(day, 'YYYYMMDD'));
BEGIN
    IF to_regclass(partition_name) IS NOT NULL THEN
        RETURN;
    END IF;
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS %I PARTITION OF user_analytics FOR VALUES FROM (%L) TO (%L)',
        partition_name,
        (day::timestamp AT TIME ZONE 'UTC'),
        ((day + 1)::timestamp AT TIME ZONE 'UTC'));
EXCEPTION WHEN duplicate_table OR unique_violation THEN
    NULL;  -- another aggregator replica created it first (racing IF NOT EXISTS can
           -- also surface as a unique violation on the catalog)
END;
$$;

-- Events per UTC minute and event name.
CREATE TABLE rollup_event_counts (
    bucket  timestamptz NOT NULL,
    event   text NOT NULL,
    events  bigint NOT NULL,
    PRIMARY KEY (bucket, event)
);

-- Page views per 15-minute UTC bucket (aligned with every real time-zone offset).
CREATE TABLE rollup_page_views (
    bucket  timestamptz NOT NULL,
    path    text NOT NULL,
    views   bigint NOT NULL,
    PRIMARY KEY (bucket, path)
);

-- Distinct members seen per UTC minute: kind 'actor' (user or anonymous id), 'chat' (chat started).
CREATE TABLE rollup_distinct (
    kind    text NOT NULL,
    bucket  timestamptz NOT NULL,
    member  text NOT NULL,
    PRIMARY KEY (kind, bucket, member)
);

CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    target      text,
    outcome     text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}'
);
