-- Locations and quorum (issue 17 item 7): every result says where it was probed from, and
-- each location's current verdict per check decides, with the others', whether the check's
-- incident opens (LOOKOUT_HEALTH_QUORUM locations failing within the window) and resolves.
-- Existing results were all probed from the one location there was: 'default'.
ALTER TABLE system_health_logs ADD COLUMN location text NOT NULL DEFAULT 'default';
-- The latest result per location of a check (the locations endpoint, the status page).
CREATE INDEX system_health_logs_location_idx
    ON system_health_logs (check_name, location, checked_at);

-- One row per check and location, written by that location's monitor on every run while
-- more than one location is configured (a location other than 'default' or a quorum
-- above 1). `failing`: the location's own state machine has the check failing (it would
-- open an incident); `since`: when `failing` last changed; `updated_at`: the last run
-- (Postgres' clock, so the monitors' clocks need not agree).
CREATE TABLE health_location_verdicts (
    check_name text NOT NULL,
    location   text NOT NULL,
    failing    boolean NOT NULL,
    since      timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (check_name, location)
);
