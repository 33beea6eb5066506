-- Incident transitions waiting for Kafka. The monitor writes a row in the same
-- transaction as the incident change it describes, and a relay publishes the rows in
-- id order to health.incidents.v1, deleting each once Kafka acknowledged it, so a
-- restart during a Kafka outage loses no transition (a crash between the ack and the
-- delete publishes it again; consumers recognise it by incident, action and time).
CREATE TABLE incident_outbox (
    id          bigserial PRIMARY KEY,
    incident_id bigint NOT NULL,  -- no foreign key: restoring `incidents` may truncate it
    check_name  text NOT NULL,
    event       jsonb NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
