-- Heartbeat (push) checks: what each one's pings last said. Written by
-- POST/GET /api/v1/health/heartbeats/{name} (the health monitor), read by the check's
-- probe, which fails the check when the last ping said `fail` or none came for longer
-- than its period plus grace (counted from `watched_since` until the first ping).
CREATE TABLE health_heartbeats (
    check_name    text PRIMARY KEY,
    watched_since timestamptz NOT NULL DEFAULT now(),
    last_ping_at  timestamptz,
    last_status   text CHECK (last_status IN ('ok', 'fail')),
    last_message  text NOT NULL DEFAULT '',
    pings         bigint NOT NULL DEFAULT 0
);
