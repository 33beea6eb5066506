-- Health monitoring: every check result, incidents and maintenance windows.

CREATE TABLE system_health_logs (
    id               bigserial PRIMARY KEY,
    check_name       text NOT NULL,
    kind             text NOT NULL,
    status           text NOT NULL CHECK (status IN ('healthy', 'degraded', 'unhealthy')),
    response_time_ms double precision NOT NULL,
    message          text NOT NULL,
    critical         boolean NOT NULL,
    checked_at       timestamptz NOT NULL
);
CREATE INDEX system_health_logs_check_idx ON system_health_logs (check_name, checked_at);
CREATE INDEX system_health_logs_at_idx ON system_health_logs USING brin (checked_at);

CREATE TABLE incidents (
    id          bigserial PRIMARY KEY,
    check_name  text NOT NULL,
    critical    boolean NOT NULL,
    status      text NOT NULL,
    message     text NOT NULL,
    opened_at   timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    resolved_at timestamptz,
    updates     jsonb NOT NULL DEFAULT '[]'
);
-- At most one open incident per check, whatever the number of monitor replicas or restarts.
CREATE UNIQUE INDEX incidents_one_open_per_check ON incidents (check_name) WHERE resolved_at IS NULL;
CREATE INDEX incidents_opened_idx ON incidents (opened_at);

CREATE TABLE maintenance_windows (
    id         bigserial PRIMARY KEY,
    starts_at  timestamptz NOT NULL,
    ends_at    timestamptz NOT NULL CHECK (ends_at > starts_at),
    reason     text NOT NULL,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
