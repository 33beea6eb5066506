-- Backup records: every backup, restore, verify and prune run; every artifact; schedules.

CREATE TABLE backup_logs (
    run_id        text PRIMARY KEY,
    operation     text NOT NULL CHECK (operation IN ('backup', 'restore', 'verify', 'prune')),
    backup_type   text CHECK (backup_type IN ('full', 'incremental')),
    base_run_id   text,
    target_run_id text,                      -- the backup a restore or verify works on
    status        text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'partial', 'failed')),
    requested_by  text NOT NULL,
    command_id    text UNIQUE,               -- a redelivered command finds its run here
    collections   jsonb NOT NULL DEFAULT '[]',
    rows          bigint NOT NULL DEFAULT 0,
    bytes         bigint NOT NULL DEFAULT 0,
    errors        jsonb NOT NULL DEFAULT '[]',
    target        text,
    worker        text,
    queued_at     timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    heartbeat_at  timestamptz,
    finished_at   timestamptz
);
CREATE INDEX backup_logs_queued_idx ON backup_logs (queued_at DESC);

CREATE TABLE backup_metadata (
    run_id        text NOT NULL REFERENCES backup_logs (run_id) ON DELETE CASCADE,
    collection    text NOT NULL,
    format        text NOT NULL,
    object_key    text NOT NULL,
    rows          bigint NOT NULL,
    bytes         bigint NOT NULL,
    sha256_plain  text NOT NULL,
    sha256_stored text NOT NULL,
    compression   text NOT NULL,
    encrypted     boolean NOT NULL,
    key_id        text,
    PRIMARY KEY (run_id, collection, format)
);

CREATE TABLE backup_schedules (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    frequency      text NOT NULL CHECK (frequency IN ('daily', 'weekly', 'monthly')),
    hour           smallint NOT NULL CHECK (hour BETWEEN 0 AND 23),
    minute         smallint NOT NULL DEFAULT 0 CHECK (minute BETWEEN 0 AND 59),
    weekday        smallint CHECK (weekday BETWEEN 0 AND 6),
    day_of_month   smallint CHECK (day_of_month BETWEEN 1 AND 31),
    timezone       text NOT NULL DEFAULT 'UTC',
    backup_type    text NOT NULL DEFAULT 'full',
    collections    jsonb NOT NULL DEFAULT '[]',
    format         text NOT NULL DEFAULT 'csv',
    compression    text NOT NULL DEFAULT 'zstd',
    retention_days integer,
    retention_policy jsonb NOT NULL DEFAULT '{}',  -- keep-last/daily/weekly/monthly
    trial_restore  boolean NOT NULL DEFAULT false, -- verify by restoring after each run
    enabled        boolean NOT NULL DEFAULT true,
    next_run_at    timestamptz,
    last_run_id    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
