-- Funnels read who did which event when, and nothing else. Reading that from the raw rows
-- costs a row per event (1.65 M for 30 days of a 3-step funnel at 10 M events a month), so
-- the aggregator also keeps it packed: one row per event name, UTC day and batch holding
-- that batch's events of that name as 17-byte records (lookout_step_record). Rows are only
-- inserted, in the batch's transaction, from its new events (exactly once, as the raw rows);
-- erasure rewrites the rows that hold an erased person's records; retention drops a day's
-- rows with the day's raw partition.

-- A person's key: the first 8 bytes of the sha256 of the id (the erasure ledger keeps the
-- whole hash, in hex, so a ledger entry names the key too). No id at all: 8 zero bytes.
CREATE FUNCTION lookout_person_key(id text) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(substr(sha256(convert_to(id, 'UTF8')), 1, 8), '\x0000000000000000'::bytea);

-- One event's record: the person key of coalesce(user_id, anonymous_id), the time in
-- microseconds since 2000 (as timestamptz_send, big-endian int8), and one byte, 1 when the
-- user id is null (only those records may be followed to a user through identity_links).
CREATE FUNCTION lookout_step_record(user_id text, anonymous_id text, at timestamptz)
    RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN lookout_person_key(coalesce(user_id, anonymous_id)) || timestamptz_send(at)
        || CASE WHEN user_id IS NULL THEN '\x01'::bytea ELSE '\x00'::bytea END;

CREATE TABLE step_times (
    event   text NOT NULL,
    day     date NOT NULL,                          -- UTC day of every record's time
    chunk   bigserial,                              -- restorable: COPY may set it
    records bytea NOT NULL,
    PRIMARY KEY (event, day, chunk)
);
-- The records are read whole and are already compact.
ALTER TABLE step_times ALTER COLUMN records SET STORAGE EXTERNAL;

-- Every event stored so far, so answers do not depend on when this table was made.
INSERT INTO step_times (event, day, records)
SELECT event, (occurred_at AT TIME ZONE 'UTC')::date,
       string_agg(lookout_step_record(user_id, anonymous_id, occurred_at), ''::bytea)
FROM user_analytics
GROUP BY 1, 2;
