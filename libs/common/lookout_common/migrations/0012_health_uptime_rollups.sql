-- Uptime rollups of the health monitor: seconds up / degraded / down / in maintenance per
-- check and per component (a group of checks) per bucket, at four resolutions. Written as
-- results arrive (lookout_health.rollups), pruned by resolution: minute rows after 48 h,
-- hour rows after 90 days, day rows after 5 years, month rows never. The SLA report and
-- the status page's daily bars read these, never system_health_logs.
CREATE TABLE health_uptime_rollups (
    scope         text NOT NULL CHECK (scope IN ('check', 'component')),
    name          text NOT NULL,
    resolution    text NOT NULL CHECK (resolution IN ('minute', 'hour', 'day', 'month')),
    bucket        timestamptz NOT NULL,
    up_s          double precision NOT NULL DEFAULT 0,
    degraded_s    double precision NOT NULL DEFAULT 0,
    down_s        double precision NOT NULL DEFAULT 0,
    maintenance_s double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, resolution, name, bucket)
);
-- Pruning deletes a resolution's oldest buckets.
CREATE INDEX health_uptime_rollups_age_idx ON health_uptime_rollups (resolution, bucket);
