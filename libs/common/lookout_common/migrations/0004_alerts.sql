-- Alert delivery outbox: one row per (alert event, receiver). The consumer commits its
-- Kafka offset only after the rows exist, and each receiver drains its own rows, so a
-- restart loses nothing and a failing receiver delays nobody else.
CREATE TABLE alert_deliveries (
    id              bigserial PRIMARY KEY,
    event_key       text NOT NULL,
    receiver        text NOT NULL,
    alert           jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    gave_up_at      timestamptz,
    last_error      text,
    UNIQUE (event_key, receiver)
);
CREATE INDEX alert_deliveries_due_idx ON alert_deliveries (receiver, next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
