-- Data quality: the dead letters of both stages (ingest and the aggregator), counted by
-- the aggregator from analytics.events.dlq.v1 for the dashboard's data-quality view.
-- Stages and codes are lookout_common.events.DeadLetter's `stage` and `code`; a record
-- on the topic that is not a dead letter is counted as stage 'unknown', code 'undecodable'.

-- Dead letters per UTC hour (of their rejected_at), stage and code.
CREATE TABLE dead_letter_counts (
    bucket  timestamptz NOT NULL,
    stage   text NOT NULL,
    code    text NOT NULL,
    letters bigint NOT NULL,
    PRIMARY KEY (bucket, stage, code)
);

-- A bounded sample of what went wrong: the most recently seen distinct reasons, at most
-- 20 per code (reasons cut to 500 characters), each with how often and when it was seen.
CREATE TABLE dead_letter_reasons (
    code       text NOT NULL,
    stage      text NOT NULL,
    reason     text NOT NULL,
    error_type text,
    letters    bigint NOT NULL,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    PRIMARY KEY (code, stage, reason)
);

-- The next offset of the dead-letter topic to count, per partition. Advanced in the
-- transaction that adds the counts, so a letter Kafka delivers again is never counted
-- twice (offsets are committed to Kafka only after that transaction).
CREATE TABLE dead_letter_offsets (
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);
